"""`enqueue_once`: arq's enqueue semantics (a job id is taken while its job or result exists) in
one round trip, readable by arq's own Job API and run by its worker."""

from __future__ import annotations

from datetime import timedelta

from arq.jobs import Job, JobStatus
from fastapi import FastAPI

from app.core import clock
from app.core.redis import enqueue_once


async def test_a_job_is_enqueued_once_per_id_as_arq_would(app: FastAPI) -> None:
    redis = app.state.redis
    assert await enqueue_once(redis, "process_event", "e-1", job_id="event:e-1")
    assert not await enqueue_once(redis, "process_event", "e-1", job_id="event:e-1")
    job = Job("event:e-1", redis)
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert info is not None
    assert (info.function, info.args) == ("process_event", ("e-1",))
    assert await redis.zcard(redis.default_queue_name) == 1


async def test_a_deferred_job_waits_for_its_time(app: FastAPI) -> None:
    redis = app.state.redis
    due = clock.now() + timedelta(hours=1)
    assert await enqueue_once(redis, "send_reminder", "a", "1h", 0, job_id="r:1", defer_until=due)
    job = Job("r:1", redis)
    assert await job.status() == JobStatus.deferred
    score = await redis.zscore(redis.default_queue_name, "r:1")
    assert abs(score / 1000 - due.timestamp()) < 0.01
    # The key lives until a day after its due time, like arq's own.
    ttl_ms = await redis.pttl("arq:job:r:1")
    assert timedelta(hours=24) < timedelta(milliseconds=ttl_ms) <= timedelta(hours=25)


async def test_an_id_with_a_kept_result_is_not_enqueued_again(app: FastAPI) -> None:
    redis = app.state.redis
    await redis.set("arq:result:event:e-2", b"x")
    assert not await enqueue_once(redis, "process_event", "e-2", job_id="event:e-2")
