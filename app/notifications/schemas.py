"""Response models of the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.pagination import Page
from app.core.schemas import ApiEnum, Created, View


class NotificationKind(ApiEnum):
    """What a notification is about (docs/api.md "Notifications" says who gets which). The
    booking and announcement kinds are the outbox's `EventKind`s of the same name;
    `new_announcement` is a followed host's new meetup and `new_movie_meetup` a new meetup of a
    followed film (both from the outbox's `announcement_created`)."""

    booking_requested = "booking_requested"
    booking_approved = "booking_approved"
    booking_rejected = "booking_rejected"
    booking_cancelled = "booking_cancelled"
    booking_expired = "booking_expired"
    waitlist_promoted = "waitlist_promoted"
    announcement_updated = "announcement_updated"
    announcement_cancelled = "announcement_cancelled"
    reminder_24h = "reminder_24h"
    reminder_1h = "reminder_1h"
    review_invitation = "review_invitation"
    new_announcement = "new_announcement"
    new_movie_meetup = "new_movie_meetup"


class NotificationPublic(View):
    id: uuid.UUID
    kind: NotificationKind
    title: str
    body: str
    link: str | None = Field(description="Short URL of the booking or announcement")
    announcement_id: uuid.UUID | None
    booking_id: uuid.UUID | None
    created: Created
    read_at: datetime | None


class NotificationPage(Page[NotificationPublic]):
    unread_count: int = Field(description="The caller's unread notifications, whatever the filter")
