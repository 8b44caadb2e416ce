"""Domain events (the outbox) and per-recipient notifications."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core import clock


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
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    # For big fan-outs (new_announcement to many followers): the last recipient id done, so a
    # crashed batch resumes where it stopped.
    cursor: str | None = Field(default=None, max_length=64)
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=2000)


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_created", "user_id", "created_at"),
        Index("ix_notification_user_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(max_length=50)
    title: str = Field(max_length=300)
    body: str = Field(max_length=5000)
    link: str | None = Field(default=None, max_length=500)
    announcement_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("announcement.id", ondelete="CASCADE"), nullable=True),
    )
    booking_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("booking.id", ondelete="CASCADE"), nullable=True)
    )
    event_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("domain_event.id", ondelete="SET NULL"), nullable=True),
    )
    # At most one notification per key: "{event_id}:{user_id}:{kind}" for events,
    # "reminder_24h:{announcement_id}:{user_id}" for reminders. A retried job cannot duplicate.
    dedupe_key: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
