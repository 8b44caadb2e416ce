"""Jobs in every state, made with the real worker."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from arq.connections import ArqRedis

RunWorker = Callable[[], Awaitable[int]]


@dataclass
class Jobs:
    failed: str
    complete: str
    queued: str
    deferred: str


async def jobs_in_every_state(redis: ArqRedis, run_worker: RunWorker) -> Jobs:
    """A failed and a complete job (run by a worker), then a queued and a deferred one."""
    await redis.enqueue_job("process_event", "not-a-uuid", _job_id="broken-event")
    await redis.enqueue_job("process_event", str(uuid.uuid4()), _job_id="unknown-event")
    await run_worker()
    await redis.enqueue_job("process_event", str(uuid.uuid4()), _job_id="waiting-event")
    await redis.enqueue_job(
        "send_reminder", str(uuid.uuid4()), "reminder_1h", 0, _job_id="later", _defer_by=3600
    )
    return Jobs(
        failed="broken-event", complete="unknown-event", queued="waiting-event", deferred="later"
    )
