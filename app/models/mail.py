"""Outgoing email, written in the transaction of the change that causes it and sent by the worker."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field

from app.core import clock
from app.core.models import TimestampedTable


class EmailStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class EmailMessage(TimestampedTable, table=True):
    __tablename__ = "email_message"
    __table_args__ = (
        # The sweep's query: what is still to send, oldest first.
        Index(
            "ix_email_message_due", "next_attempt_at", postgresql_where=text("status = 'pending'")
        ),
        # The console's list of emails that failed for good, latest first.
        Index(
            "ix_email_message_failed",
            text("updated_at DESC"),
            postgresql_where=text("status = 'failed'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str
    # An iCalendar file attached to meetup emails (approval, update, reminders).
    ics_attachment: str | None = Field(default=None)
    # The notification this email delivers, if any (ops and analytics count sent/failed by kind).
    notification_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("notification.id", ondelete="SET NULL"), nullable=True),
    )
    # Bodies that carry a secret (codes, reset links) are blanked once the email is out.
    sensitive: bool = Field(default=False)
    status: EmailStatus = Field(
        default=EmailStatus.pending,
        sa_column=Column(
            SAEnum(
                EmailStatus, name="email_status", values_callable=lambda e: [m.value for m in e]
            ),
            nullable=False,
        ),
    )
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=2000)
    next_attempt_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),
        nullable=False,
    )
    sent_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=True,
    )
