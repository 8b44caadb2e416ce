"""Response models of the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.pagination import Page
from app.core.schemas import Created, View


class NotificationPublic(View):
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
    created: Created
    read_at: datetime | None


class NotificationPage(Page[NotificationPublic]):
    unread_count: int = Field(description="The caller's unread notifications, whatever the filter")
