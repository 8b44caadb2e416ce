"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from app.announcements.models import Announcement, AnnouncementFavorite, AnnouncementLike
from app.auth.models import AuthSession, OneTimeCode
from app.bookings.models import Booking
from app.core.db import metadata
from app.core.idempotency import IdempotencyRecord
from app.events import DomainEvent
from app.mail.models import EmailMessage
from app.movies.models import Movie
from app.notifications.models import Notification
from app.reviews.models import Review
from app.users.models import Follow, User

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
    "Notification",
    "OneTimeCode",
    "Review",
    "User",
    "metadata",
]
