"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from app.core.db import metadata
from app.core.idempotency import IdempotencyRecord
from app.events import DomainEvent
from app.models.announcements import Announcement, AnnouncementFavorite, AnnouncementLike
from app.models.auth import AuthSession, OneTimeCode
from app.models.bookings import Booking
from app.models.mail import EmailMessage
from app.models.movies import Movie, MovieFollow, MovieReview, MovieReviewLike
from app.models.notifications import Notification
from app.models.reviews import Review
from app.models.users import Follow, User
from app.models.webhooks import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventDispatch,
    WebhookSweepCursor,
)

__all__ = [
    "Announcement",
    "AnnouncementFavorite",
    "AnnouncementLike",
    "AuthSession",
    "Booking",
    "DomainEvent",
    "EmailMessage",
    "Follow",
    "IdempotencyRecord",
    "Movie",
    "MovieFollow",
    "MovieReview",
    "MovieReviewLike",
    "Notification",
    "OneTimeCode",
    "Review",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEventDispatch",
    "WebhookSweepCursor",
    "metadata",
]
