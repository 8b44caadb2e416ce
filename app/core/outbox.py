"""The transactional outbox: a domain event is written in the transaction of the change it
reports; the worker turns it into per-recipient notifications after commit.

Nothing here fans out: one row per event, never one row per follower inside a request.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.core.db import Tx
from app.notifications.models import DomainEvent

PROCESS_EVENT_JOB = "process_event"


async def record(
    tx: Tx,
    kind: str,
    *,
    announcement_id: uuid.UUID | None = None,
    booking_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> DomainEvent:
    """Write one event (see `EventKind` for the kinds and their payloads) and enqueue its
    processing once the transaction commits. If the enqueue is lost, the worker's sweep finds the
    unprocessed row."""
    event = DomainEvent(
        kind=kind,
        announcement_id=announcement_id,
        booking_id=booking_id,
        actor_id=actor_id,
        payload=payload or {},
    )
    tx.session.add(event)
    await tx.session.flush()
    enqueue_processing(tx, event.id)
    return event


def enqueue_processing(tx: Tx, event_id: uuid.UUID) -> None:
    """Have the worker process an event once the transaction commits: for events that a hot path
    inserts with its own SQL (app/bookings/statements.py) rather than through `record`."""
    tx.enqueue_after_commit(PROCESS_EVENT_JOB, str(event_id), job_id=f"event:{event_id}")
