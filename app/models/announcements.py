"""Announcements (meetups), their likes and favorites."""

from __future__ import annotations

import enum
import typing
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    and_,
    case,
    literal,
    or_,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col

from app.core import clock
from app.core.models import TimestampedTable

# Reviews may be written from the end of a meetup until this long after it.
REVIEW_WINDOW = timedelta(days=30)
# The longest a meetup lasts (the duration_range check below).
MAX_DURATION = timedelta(minutes=1440)


def is_closed(cancelled_at: datetime | None, event_time: datetime, now: datetime) -> bool:
    """A meetup is closed to seat requests, decisions and changes once cancelled or started
    (`Announcement.is_closed_at`, which is also its SQL form; this takes the columns of any row)."""
    return cancelled_at is not None or now >= event_time


def has_started(cancelled_at: datetime | None, event_time: datetime, now: datetime) -> bool:
    """Took place (started or finished), as opposed to closed by a cancellation."""
    return cancelled_at is None and now >= event_time


class Approval(enum.StrEnum):
    manual = "manual"
    auto = "auto"


class AnnouncementStatus(enum.StrEnum):
    open = "open"
    full = "full"
    started = "started"
    finished = "finished"
    cancelled = "cancelled"


class Announcement(TimestampedTable, table=True):
    __tablename__ = "announcement"
    __table_args__ = (
        CheckConstraint("tickets_count BETWEEN 1 AND 1000", name="tickets_count_range"),
        CheckConstraint(
            "approved_seats >= 0 AND approved_seats <= tickets_count", name="seat_invariant"
        ),
        CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="duration_range"),
        # No duplicate: one non-cancelled announcement per author and start time, even under races.
        # The id rides along so that -host_rating reads a host's first meetups from the index alone.
        Index(
            "uq_announcement_author_event_time",
            "author_id",
            "event_time",
            unique=True,
            postgresql_include=["id"],
            postgresql_where=text("cancelled_at IS NULL"),
        ),
        # The lists of live meetups, one index per order (queries.py): the upcoming ones by
        # event_time (is_free and sub_only answered inside the index), by -created, by -likes.
        # (With likes_count indexed, a like is not a HOT update: every index of the table gets the
        # new row version. Seat counters are indexed nowhere, so a booking's update stays HOT.)
        Index(
            "ix_announcement_upcoming",
            "event_time",
            "is_free",
            "sub_only",
            postgresql_where=text("cancelled_at IS NULL"),
        ),
        Index(
            "ix_announcement_upcoming_created",
            text("created_at DESC"),
            "id",
            "event_time",
            postgresql_where=text("cancelled_at IS NULL"),
        ),
        Index(
            "ix_announcement_upcoming_likes",
            text("likes_count DESC"),
            "event_time",
            "id",
            postgresql_where=text("cancelled_at IS NULL"),
        ),
        # status=full / has_seats=false, and status=cancelled: small sets the lists find directly.
        # The predicate reads the generated `is_full`, not the seat counters: only the booking that
        # fills (or unfills) a meetup changes an indexed value, the others stay HOT updates.
        Index(
            "ix_announcement_full",
            "event_time",
            postgresql_where=text("cancelled_at IS NULL AND is_full"),
        ),
        Index(
            "ix_announcement_cancelled",
            "event_time",
            postgresql_where=text("cancelled_at IS NOT NULL"),
        ),
        Index("ix_announcement_created", "created_at"),
        Index("ix_announcement_search", "search_vector", postgresql_using="gin"),
        Index("ix_announcement_tags", "tags", postgresql_using="gin"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    author_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    movie_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("movie.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    # The film's title as shown: the catalog movie's title, or the free text the host typed.
    movie_title: str = Field(default="", max_length=300)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    event_time: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    duration_minutes: int = Field(default=120)
    # event_time + duration, kept by the service: time-overlap checks and "finished" read it.
    ends_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    location: str = Field(max_length=300)
    # What the film is shown in: the soundtrack and any subtitles ("Russian, English subtitles").
    language: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    timezone: str = Field(default="UTC", max_length=64)
    tickets_count: int
    # Seats of approved bookings. Changed only under the announcement's row lock (bookings service).
    approved_seats: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    waitlist_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # No seat left, kept by PostgreSQL: what the "full" lists filter on (ix_announcement_full).
    is_full: bool | None = Field(
        default=None,
        sa_column=Column(
            Boolean, Computed("approved_seats >= tickets_count", persisted=True), nullable=False
        ),
        exclude=True,
    )
    likes_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    is_free: bool = Field(default=True)
    price: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2), nullable=True))
    sub_only: bool = Field(default=False)
    approval: Approval = Field(
        default=Approval.manual,
        sa_column=Column(
            SAEnum(Approval, name="approval_mode", values_callable=lambda e: [m.value for m in e]),
            nullable=False,
        ),
    )
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(40)), nullable=False, server_default="{}"),
    )
    cancelled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    cancel_reason: str | None = Field(default=None, max_length=1000)
    short_code: str = Field(max_length=16, unique=True)
    search_vector: str | None = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed(
                "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(movie_title, ''))",
                persisted=True,
            ),
        ),
        exclude=True,
    )

    @property
    def tickets_left(self) -> int:
        return self.tickets_count - self.approved_seats

    # --- the rules of a meetup's life, each in Python and in SQL side by side ----------------------
    # `Announcement.is_open_at(now)` on the class is a SQL condition, on a row a bool; the SQL forms
    # are written the way the partial indexes above can answer them.

    @hybrid_method
    def is_open_at(self, now: datetime) -> bool:
        """Open to seat requests, decisions and changes: not cancelled and not started."""
        return not is_closed(self.cancelled_at, self.event_time, now)

    @is_open_at.expression
    @classmethod
    def _is_open_at(cls, now: datetime) -> ColumnElement[bool]:
        return and_(col(cls.cancelled_at).is_(None), col(cls.event_time) > now)

    @hybrid_method
    def is_closed_at(self, now: datetime) -> bool:
        """Closed (the 409 announcement_closed): cancelled, or started."""
        return is_closed(self.cancelled_at, self.event_time, now)

    @is_closed_at.expression
    @classmethod
    def _is_closed_at(cls, now: datetime) -> ColumnElement[bool]:
        return or_(col(cls.cancelled_at).is_not(None), col(cls.event_time) <= now)

    @hybrid_method
    def in_review_window(self, now: datetime) -> bool:
        """Host and guests may rate each other: from the end of the meetup (ends_at) until
        REVIEW_WINDOW after it, both ends included; never for a cancelled meetup."""
        return self.cancelled_at is None and self.ends_at <= now <= self.ends_at + REVIEW_WINDOW

    @in_review_window.expression
    @classmethod
    def _in_review_window(cls, now: datetime) -> ColumnElement[bool]:
        ends_at = col(cls.ends_at)
        return and_(
            col(cls.cancelled_at).is_(None),
            # Bounding event_time too lets the partial index on it serve (a meetup lasts at most
            # MAX_DURATION).
            col(cls.event_time) <= now,
            col(cls.event_time) >= now - REVIEW_WINDOW - MAX_DURATION,
            ends_at <= now,
            ends_at >= now - REVIEW_WINDOW,
        )

    def status_at(self, now: datetime) -> AnnouncementStatus:
        if self.cancelled_at is not None:
            return AnnouncementStatus.cancelled
        if now >= self.ends_at:
            return AnnouncementStatus.finished
        if now >= self.event_time:
            return AnnouncementStatus.started
        if self.approved_seats >= self.tickets_count:
            return AnnouncementStatus.full
        return AnnouncementStatus.open

    @classmethod
    def status_expression(cls, now: datetime) -> ColumnElement[str]:
        """`status_at(now)` as one SQL value (for grouping)."""
        return case(
            (col(cls.cancelled_at).is_not(None), literal(AnnouncementStatus.cancelled.value)),
            (col(cls.ends_at) <= now, literal(AnnouncementStatus.finished.value)),
            (col(cls.event_time) <= now, literal(AnnouncementStatus.started.value)),
            (cls.full_condition(), literal(AnnouncementStatus.full.value)),
            else_=literal(AnnouncementStatus.open.value),
        )

    @classmethod
    def full_condition(cls) -> ColumnElement[bool]:
        """`is_full` as a condition. The column is NOT NULL (PostgreSQL computes it); the field is
        `bool | None` only because a new row has no value before it is inserted."""
        return typing.cast("ColumnElement[bool]", col(cls.is_full))

    @classmethod
    def has_status(cls, status: AnnouncementStatus, now: datetime) -> ColumnElement[bool]:
        """`status_at(now) == status` as a condition (for filtering) that the indexes answer:
        every live status is a range of event_time (ends_at > event_time, and a meetup lasts at
        most MAX_DURATION), and "full" is the generated column is_full (which
        ix_announcement_full's predicate reads and the planner has statistics for; a comparison
        of two columns would be taken for a third of the rows)."""
        live, event_time, ends_at = (
            col(cls.cancelled_at).is_(None),
            col(cls.event_time),
            col(cls.ends_at),
        )
        full = cls.full_condition()
        match status:
            case AnnouncementStatus.cancelled:
                return col(cls.cancelled_at).is_not(None)
            case AnnouncementStatus.finished:
                return and_(live, event_time < now, ends_at <= now)
            case AnnouncementStatus.started:
                started = and_(event_time > now - MAX_DURATION, event_time <= now)
                return and_(live, started, ends_at > now)
            case AnnouncementStatus.full:
                return and_(cls.is_open_at(now), full)
            case AnnouncementStatus.open:
                return and_(cls.is_open_at(now), ~full)


class AnnouncementLike(SQLModel, table=True):
    __tablename__ = "announcement_like"

    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    announcement_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))


class AnnouncementFavorite(SQLModel, table=True):
    __tablename__ = "announcement_favorite"
    __table_args__ = (
        # A user's favorites, last added first (GET /users/me/favorites).
        Index(
            "ix_announcement_favorite_user_created",
            "user_id",
            text("created_at DESC"),
            "announcement_id",
        ),
    )

    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    announcement_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))
