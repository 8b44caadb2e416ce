"""Accounts, roles, the per-user token cut-off, running counters, and who follows whom."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, func, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.models import TimestampedTable


class Role(enum.StrEnum):
    member = "member"
    moderator = "moderator"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class RatingAggregate:
    """A running rating: the sum and the number of the visible reviews' scores."""

    total: int
    count: int

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


def _counter() -> int:
    field: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    return field


class User(TimestampedTable, table=True):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        # Emails are unique without regard to case; we store them as given.
        Index("uq_user_account_email_lower", func.lower(text("email")), unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320)
    name: str = Field(max_length=100)
    bio: str = Field(default="", max_length=2000)
    password_hash: str = Field(max_length=255)
    role: Role = Field(
        default=Role.member,
        sa_column=Column(
            SAEnum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]),
            nullable=False,
            server_default=Role.member.value,
        ),
    )
    is_active: bool = Field(default=True)
    is_confirmed: bool = Field(default=False)
    email_notifications: bool = Field(default=True)
    # The language of the user's emails and notifications (app.core.i18n.SUPPORTED).
    locale: str = Field(default="en", max_length=8, sa_column_kwargs={"server_default": "en"})
    # Tokens issued before this instant are refused (password reset, refresh-token reuse).
    tokens_valid_after: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
    )
    # Running aggregates, updated in the transaction of the change that moves them, so that lists
    # show them without a count or an average per row.
    followers_count: int = _counter()
    following_count: int = _counter()
    # Mutual follows: moved when a follow makes or breaks one (under both users' row locks).
    friends_count: int = _counter()
    hosted_count: int = _counter()
    host_rating_sum: int = _counter()
    host_rating_count: int = _counter()
    guest_rating_sum: int = _counter()
    guest_rating_count: int = _counter()

    @property
    def host_rating(self) -> RatingAggregate:
        return RatingAggregate(self.host_rating_sum, self.host_rating_count)

    @property
    def guest_rating(self) -> RatingAggregate:
        return RatingAggregate(self.guest_rating_sum, self.guest_rating_count)


class Follow(SQLModel, table=True):
    """`follower_id` follows `followee_id`."""

    __tablename__ = "follow"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        Index("ix_follow_followee", "followee_id", "created_at"),
        # A host's followers in follower-id order, from any id on: the batches of the
        # announcement fan-out (app/notifications/fanout.py) read only the entries they take.
        Index("ix_follow_followee_follower", "followee_id", "follower_id"),
    )

    follower_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    followee_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    created_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),
    )
