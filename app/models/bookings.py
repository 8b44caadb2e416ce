"""Bookings (seat requests)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field

from app.core.models import TimestampedTable


class BookingStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"
    waitlisted = "waitlisted"
    expired = "expired"


ACTIVE_STATUSES = (BookingStatus.pending, BookingStatus.approved, BookingStatus.waitlisted)


class Booking(TimestampedTable, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint("seats BETWEEN 1 AND 10", name="seats_range"),
        # One active booking per guest and announcement, whatever the interleaving.
        Index(
            "uq_booking_active_guest",
            "announcement_id",
            "guest_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'approved', 'waitlisted')"),
        ),
        Index("ix_booking_announcement_status", "announcement_id", "status", "created_at"),
        Index("ix_booking_guest_status", "guest_id", "status", "event_time"),
        # The lists, newest first: a guest's own, and a meetup's (a host's list merges these).
        Index("ix_booking_guest_created", "guest_id", text("created_at DESC"), "id"),
        Index("ix_booking_announcement_created", "announcement_id", text("created_at DESC"), "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    announcement_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("announcement.id", ondelete="RESTRICT"), nullable=False)
    )
    guest_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    seats: int = Field(default=1)
    status: BookingStatus = Field(
        sa_column=Column(
            SAEnum(
                BookingStatus, name="booking_status", values_callable=lambda e: [m.value for m in e]
            ),
            nullable=False,
        )
    )
    message: str | None = Field(default=None, max_length=1000)
    reason: str | None = Field(default=None, max_length=1000)
    # Copies of the announcement's times (kept in step by the announcements service) so that the
    # overlap check for a guest reads one indexed table.
    event_time: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    ends_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    # When it last became approved: reminders go only to those approved before the reminder time.
    approved_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    short_code: str = Field(max_length=16, unique=True)
