"""Domain events: the contract between producers (announcements, bookings) and their consumers
(notifications, webhooks), and the transactional outbox that carries them.

A domain event is written in the transaction of the change it reports; the worker turns it into
per-recipient notifications after commit. Nothing here fans out: one row per event, never one row
per follower inside a request.

Layering: this module sits right above `app.core` and imports nothing else from `app`, so every
producer and the consumer can import it without importing each other.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import Tx


class EventKind(enum.StrEnum):
    """What the outbox carries. Payload keys are listed per kind; ids are strings."""

    announcement_created = "announcement_created"  # {}
    announcement_updated = (
        "announcement_updated"  # {"changed": {field: {"old": .., "new": ..}}, "guest_ids": [..]}
    )
    announcement_cancelled = "announcement_cancelled"  # {"reason": str|None, "guest_ids": [..]}
    booking_requested = "booking_requested"  # {"status": "pending"|"waitlisted"}
    booking_approved = "booking_approved"  # {}
    booking_rejected = "booking_rejected"  # {"reason": str|None}
    booking_cancelled = "booking_cancelled"  # {"by": "guest"|"host"}
    booking_expired = "booking_expired"  # {}
    waitlist_promoted = "waitlist_promoted"  # {"status": "pending"|"approved"}


class DomainEvent(SQLModel, table=True):
    __tablename__ = "domain_event"
    __table_args__ = (
        Index(
            "ix_domain_event_unprocessed",
            "created_at",
            postgresql_where=text("processed_at IS NULL"),
        ),
        # The webhooks sweep reads the events created since its cursor (app/webhooks/dispatch.py).
        Index("ix_domain_event_created_at", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=50)
    announcement_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("announcement.id", ondelete="SET NULL"), nullable=True),
    )
    booking_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("booking.id", ondelete="SET NULL"), nullable=True)
    )
    actor_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
    )
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))
    # For big fan-outs (new_announcement to many followers): the last recipient id done, so a
    # crashed batch resumes where it stopped.
    cursor: str | None = Field(default=None, max_length=64)
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=2000)


PROCESS_EVENT_JOB = "process_event"
# The webhooks' consumer of the same events (app/webhooks/tasks.py): its own job, so a slow
# receiver or a failing endpoint never holds up the notifications, and the other way round.
DISPATCH_WEBHOOKS_JOB = "dispatch_webhooks"


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
    inserts with its own SQL (app/bookings/statements.py) rather than through `record`. Two
    consumers, two jobs: the notifications and the webhooks."""
    tx.enqueue_after_commit(PROCESS_EVENT_JOB, str(event_id), job_id=f"event:{event_id}")
    tx.enqueue_after_commit(DISPATCH_WEBHOOKS_JOB, str(event_id), job_id=f"webhooks:{event_id}")
