"""Response models of the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.core.pagination import Page
from app.models.notifications import Notification


class NotificationPublic(BaseModel):
    id: uuid.UUID
    kind: str = Field(
        description="booking_requested, booking_approved, booking_rejected, booking_cancelled, "
        "booking_expired, waitlist_promoted, announcement_updated, announcement_cancelled, "
        "reminder_24h, reminder_1h, review_invitation or new_announcement"
    )
    title: str
    body: str
    link: str | None = Field(description="Short URL of the booking or announcement")
    announcement_id: uuid.UUID | None
    booking_id: uuid.UUID | None
    created: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationPublic:
        return cls(
            id=notification.id,
            kind=notification.kind,
            title=notification.title,
            body=notification.body,
            link=notification.link,
            announcement_id=notification.announcement_id,
            booking_id=notification.booking_id,
            created=notification.created_at,
            read_at=notification.read_at,
        )


class NotificationPage(Page[NotificationPublic]):
    unread_count: int = Field(description="The caller's unread notifications, whatever the filter")
