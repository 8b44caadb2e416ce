"""What the API shows of a user: the public profile, the private view, and the admin's view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.validation import MULTI_LINE, SINGLE_LINE
from app.models.users import Role, User


class Rating(BaseModel):
    average: float | None = Field(description="Average score 1..5 of visible reviews, or null")
    count: int

    @classmethod
    def of(cls, total: int, count: int) -> Rating:
        return cls(average=round(total / count, 2) if count else None, count=count)


def host_rating(user: User) -> Rating:
    return Rating.of(user.host_rating_sum, user.host_rating_count)


def guest_rating(user: User) -> Rating:
    return Rating.of(user.guest_rating_sum, user.guest_rating_count)


class UserPublic(BaseModel):
    """A public profile."""

    id: uuid.UUID
    name: str
    bio: str
    host_rating: Rating
    guest_rating: Rating
    followers_count: int
    following_count: int
    hosted_count: int = Field(
        description="Announcements this user posted that are not cancelled (past ones included)"
    )

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            name=user.name,
            bio=user.bio,
            host_rating=host_rating(user),
            guest_rating=guest_rating(user),
            followers_count=user.followers_count,
            following_count=user.following_count,
            hosted_count=user.hosted_count,
        )


class UserPrivate(BaseModel):
    """The caller's own account."""

    id: uuid.UUID
    email: str
    name: str
    bio: str
    role: Role
    is_confirmed: bool
    email_notifications: bool
    created: datetime
    host_rating: Rating
    guest_rating: Rating

    @classmethod
    def of(cls, user: User) -> UserPrivate:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            bio=user.bio,
            role=user.role,
            is_confirmed=user.is_confirmed,
            email_notifications=user.email_notifications,
            created=user.created_at,
            host_rating=host_rating(user),
            guest_rating=guest_rating(user),
        )


class UserAdminView(UserPrivate):
    is_active: bool

    @classmethod
    def of(cls, user: User) -> UserAdminView:
        return cls(**UserPrivate.of(user).model_dump(), is_active=user.is_active)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100), SINGLE_LINE] | None = None
    bio: Annotated[str, Field(max_length=2000), MULTI_LINE] | None = None
    email_notifications: bool | None = None


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None
