"""Per-recipient notifications. The events they are made from live in `app.events`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, text
from sqlmodel import Field, SQLModel

from app.core import clock


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
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
