"""arq jobs of the notifications domain (idempotent; they take ids and open their own session),
and the minute sweep that makes PostgreSQL, not Redis, decide what must still happen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.core import clock
from app.core.db import Database
from app.core.logging import get_logger
from app.events import PROCESS_EVENT_JOB, DomainEvent
from app.notifications.fanout import MAX_ATTEMPTS, process_event
from app.notifications.reminders import (
    enqueue_due_reminders,
    enqueue_due_review_invitations,
    send_reminder,
    send_review_invitations,
)

log = get_logger(__name__)

FUNCTIONS: list[Any] = [process_event, send_reminder, send_review_invitations]

# An event younger than this is still in the hands of its after-commit job.
EVENT_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 500


async def enqueue_unprocessed_events(ctx: dict[str, Any]) -> int:
    """Re-enqueue events left unprocessed (enqueue lost with Redis, worker killed mid-way, a
    fan-out whose hand-over was lost). The job id names the minute: a fresh job each sweep, while
    the row lock and the dedupe keys keep a duplicate job harmless."""
    db: Database = ctx["db"]
    now = clock.now()
    async with db.sessionmaker() as session:
        event_ids = (
            await session.scalars(
                select(col(DomainEvent.id))
                .where(
                    col(DomainEvent.processed_at).is_(None),
                    col(DomainEvent.created_at) < now - EVENT_GRACE,
                    col(DomainEvent.attempts) < MAX_ATTEMPTS,
                )
                .order_by(col(DomainEvent.created_at))
                .limit(SWEEP_BATCH)
            )
        ).all()
    minute = int(now.timestamp()) // 60
    enqueued = 0
    for event_id in event_ids:
        job = await ctx["redis"].enqueue_job(
            PROCESS_EVENT_JOB, str(event_id), _job_id=f"event:{event_id}:sweep:{minute}"
        )
        enqueued += job is not None
    if enqueued:
        log.info("sweep_enqueued_events", count=enqueued)
    return enqueued


async def sweep(ctx: dict[str, Any]) -> None:
    """Called by the worker's minute sweep: enqueue whatever the database says is due."""
    await enqueue_unprocessed_events(ctx)
    await enqueue_due_reminders(ctx)
    await enqueue_due_review_invitations(ctx)
