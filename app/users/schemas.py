"""What the API shows of a user: the public profile, the private view, and the admin's view."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from app.core.schemas import ApiEnum, Created, Patch, View
from app.core.validation import MULTI_LINE, SINGLE_LINE
from app.models.users import RatingAggregate, Role


class Locale(ApiEnum):
    """The language of a user's emails and notifications."""

    en = "en"
    ru = "ru"


class Rating(View):
    average: float | None = Field(description="Average score 1..5 of visible reviews, or null")
    count: int

    @classmethod
    def of_sum(cls, total: int, count: int) -> Rating:
        """From the aggregate's columns (as a raw SQL row holds them)."""
        return cls.of(RatingAggregate(total, count))


class UserPublic(View):
    """A public profile."""

    id: uuid.UUID
    name: str
    bio: str
    host_rating: Rating
    guest_rating: Rating
    followers_count: int
    following_count: int
    friends_count: int = Field(description="Mutual follows")
    hosted_count: int = Field(
        description="Announcements this user posted that are not cancelled (past ones included)"
    )


class UserPrivate(View):
    """The caller's own account."""

    id: uuid.UUID
    email: str
    name: str
    bio: str
    role: Role
    is_confirmed: bool
    email_notifications: bool
    locale: Locale = Field(
        description="The language of your emails and notifications (from `Accept-Language` at "
        "sign-up)"
    )
    created: Created
    host_rating: Rating
    guest_rating: Rating


class UserAdminView(UserPrivate):
    is_active: bool


class UserUpdate(Patch):
    """Only the fields sent change; none may be null (an empty `bio` is `""`)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100), SINGLE_LINE] | None = None
    bio: Annotated[str, Field(max_length=2000), MULTI_LINE] | None = None
    email_notifications: bool | None = None
    locale: Locale | None = None


class AdminUserUpdate(Patch):
    """Only the fields sent change; neither may be null."""

    role: Role | None = None
    is_active: bool | None = None
