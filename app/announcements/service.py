"""Announcements (meetups): create, change, cancel, delete; likes and favorites.

Rules checked in the contract's order: 422 (the request makes no sense now), then 403 (only the
author or an admin), then 409 (the meetup's state forbids it). Changes that depend on seats run
under the announcement's row lock, like every seat change of the bookings service.

`User.hosted_count` counts the author's announcements that are not cancelled (past ones too): +1
on create, -1 on cancel, and -1 on delete unless it was already cancelled.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events
from app.announcements import queries
from app.announcements.errors import (
    CapacityBelowBooked,
    DuplicateAnnouncement,
    EventTimeNotInFuture,
    HasBookings,
    InvalidPrice,
    UnknownMovie,
)
from app.announcements.schemas import AnnouncementCreate, AnnouncementPublic, AnnouncementUpdate
from app.bookings import service as bookings_service
from app.bookings.errors import AnnouncementClosed
from app.core import clock
from app.core.db import Tx
from app.core.errors import Forbidden, NotFound
from app.core.i18n import N_, N_plural
from app.core.logging import get_logger
from app.core.shortcodes import new_code
from app.events import EventKind
from app.models.announcements import (
    Announcement,
    AnnouncementFavorite,
    AnnouncementLike,
    AnnouncementStatus,
)
from app.models.movies import Movie
from app.models.users import Role, User
from app.users import service as users_service

log = get_logger(__name__)

DEFAULT_DURATION = 120
DUPLICATE_INDEX = "uq_announcement_author_event_time"


# --- helpers ---------------------------------------------------------------------------------------


async def _flush_unique(session: AsyncSession) -> None:
    """Flush; the partial unique index turns a duplicate (even a racing one) into a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if DUPLICATE_INDEX in str(exc):
            raise DuplicateAnnouncement() from exc
        raise


async def _has_duplicate(
    session: AsyncSession,
    author_id: uuid.UUID,
    event_time: datetime,
    exclude: uuid.UUID | None = None,
) -> bool:
    query = select(col(Announcement.id)).where(
        col(Announcement.author_id) == author_id,
        col(Announcement.event_time) == event_time,
        col(Announcement.cancelled_at).is_(None),
    )
    if exclude is not None:
        query = query.where(col(Announcement.id) != exclude)
    return await session.scalar(query.limit(1)) is not None


async def _catalog_movie(session: AsyncSession, movie_id: uuid.UUID) -> Movie:
    """The catalog movie a meetup is created with or re-pointed to, under its share lock.

    Lock order: the movie before the announcement (a rename locks the movie, then its meetups).
    Without it a re-point locked the meetup and then waited for the movie (its foreign-key check)
    while a rename held the movie and waited for the meetup: a deadlock. The share lock also makes
    the title copied here the movie's latest: a rename waits for this transaction, or this read
    waits for the rename's commit.
    """
    movie = await session.get(
        Movie, movie_id, with_for_update={"read": True}, populate_existing=True
    )
    if movie is None:
        raise UnknownMovie()
    return movie


def _require_future(event_time: datetime) -> None:
    if event_time <= clock.now():
        raise EventTimeNotInFuture()


def _require_author(announcement: Announcement, user: User) -> None:
    if announcement.author_id != user.id and user.role != Role.admin:
        raise Forbidden(N_("Only the author of this meetup or an admin may change it."))


_CLOSED_DETAIL = {
    AnnouncementStatus.cancelled: N_("This meetup was cancelled: it cannot change any more."),
    AnnouncementStatus.started: N_("This meetup has started: it cannot change any more."),
    AnnouncementStatus.finished: N_("This meetup is over: it cannot change any more."),
}


def _require_not_closed(announcement: Announcement) -> None:
    now = clock.now()
    if announcement.is_closed_at(now):
        raise AnnouncementClosed(_CLOSED_DETAIL[announcement.status_at(now)])


async def _lock(session: AsyncSession, announcement_id: uuid.UUID) -> Announcement:
    announcement = await session.get(
        Announcement, announcement_id, with_for_update=True, populate_existing=True
    )
    if announcement is None:
        raise NotFound(N_("No such announcement."))
    return announcement


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# --- create ----------------------------------------------------------------------------------------


async def announce(tx: Tx, *, author: User, data: AnnouncementCreate) -> AnnouncementPublic:
    """Create the meetup (below) and answer with its full view."""
    announcement = await create_announcement(tx, author=author, data=data)
    return await queries.announcement_view(tx.session, announcement.id, author)


async def create_announcement(tx: Tx, *, author: User, data: AnnouncementCreate) -> Announcement:
    session = tx.session
    _require_future(data.event_time)
    movie = await _catalog_movie(session, data.movie_id) if data.movie_id else None
    if await _has_duplicate(session, author.id, data.event_time):
        raise DuplicateAnnouncement()
    duration = data.duration_minutes or (movie.runtime_minutes if movie else None)
    duration = duration or DEFAULT_DURATION
    announcement = Announcement(
        **data.model_dump(exclude=set(_DERIVED_FIELDS)),
        author_id=author.id,
        movie_id=movie.id if movie else None,
        movie_title=movie.title if movie else (data.movie_title or ""),
        event_time=data.event_time,
        duration_minutes=duration,
        ends_at=data.event_time + timedelta(minutes=duration),
        short_code=new_code(),
    )
    session.add(announcement)
    await _flush_unique(session)
    await users_service.move_hosted_count(session, author.id, +1)
    # The worker fans this out to the followers (new_announcement), in batches, after commit.
    await events.record(
        tx, EventKind.announcement_created, announcement_id=announcement.id, actor_id=author.id
    )
    log.info("announcement_created", announcement_id=str(announcement.id))
    return announcement


# --- change ----------------------------------------------------------------------------------------

# The fields of a change that need more than a copy: the film, and the times (ends_at follows).
_DERIVED_FIELDS = frozenset({"movie_id", "movie_title", "event_time", "duration_minutes"})
_PLAIN_FIELDS = tuple(
    name for name in AnnouncementUpdate.model_fields if name not in _DERIVED_FIELDS
)


async def update_announcement(
    tx: Tx, *, user: User, announcement_id: uuid.UUID, data: AnnouncementUpdate
) -> Announcement:
    session = tx.session
    changes = data.model_dump(exclude_unset=True)
    # 422: what is wrong whoever asks.
    if "event_time" in changes:
        _require_future(changes["event_time"])
    movie = await _catalog_movie(session, changes["movie_id"]) if changes.get("movie_id") else None
    announcement = await _lock(session, announcement_id)
    new = _merged_values(announcement, changes, movie)
    # 403, then 409.
    _require_author(announcement, user)
    _require_not_closed(announcement)
    if new["tickets_count"] < announcement.approved_seats:
        raise CapacityBelowBooked(
            N_plural(
                "{n} seat is already approved: tickets_count cannot go below that.",
                "{n} seats are already approved: tickets_count cannot go below that.",
            ),
            count=announcement.approved_seats,
        )
    if new["event_time"] != announcement.event_time and await _has_duplicate(
        session, announcement.author_id, new["event_time"], exclude=announcement.id
    ):
        raise DuplicateAnnouncement()

    changed = {
        name: {"old": _json_safe(getattr(announcement, name)), "new": _json_safe(value)}
        for name, value in new.items()
        if getattr(announcement, name) != value
    }
    if not changed:
        return announcement
    old_tickets = announcement.tickets_count
    for name, value in new.items():
        setattr(announcement, name, value)
    announcement.ends_at = announcement.event_time + timedelta(
        minutes=announcement.duration_minutes
    )
    announcement.updated_at = clock.now()
    await _flush_unique(session)
    if "event_time" in changed or "duration_minutes" in changed:
        await bookings_service.retime_for(tx, announcement)
    if announcement.tickets_count > old_tickets:
        await bookings_service.promote_waitlist(
            tx,
            announcement_id=announcement.id,
            approval=announcement.approval,
            tickets_left=announcement.tickets_left,
            closed=False,  # _require_not_closed above
        )
        await session.refresh(announcement, ["approved_seats", "waitlist_count"])
    await events.record(
        tx,
        EventKind.announcement_updated,
        announcement_id=announcement.id,
        actor_id=user.id,
        payload={
            "changed": changed,
            "guest_ids": await bookings_service.active_guest_ids(session, announcement.id),
        },
    )
    log.info("announcement_updated", announcement_id=str(announcement.id), fields=list(changed))
    return announcement


def _merged_values(
    announcement: Announcement, changes: dict[str, Any], movie: Movie | None
) -> dict[str, Any]:
    """The announcement's values after `changes`; 422 if the result is inconsistent."""
    new: dict[str, Any] = {
        name: changes.get(name, getattr(announcement, name)) for name in _PLAIN_FIELDS
    }
    new["event_time"] = changes.get("event_time", announcement.event_time)
    new["duration_minutes"] = changes.get("duration_minutes", announcement.duration_minutes)
    new["movie_id"], new["movie_title"] = announcement.movie_id, announcement.movie_title
    if movie is not None:
        new["movie_id"], new["movie_title"] = movie.id, movie.title
    elif "movie_title" in changes or "movie_id" in changes:
        new["movie_id"] = None
        new["movie_title"] = changes.get("movie_title") or announcement.movie_title
    if new["is_free"] and "price" not in changes:
        new["price"] = None  # becoming free drops the price
    if new["is_free"] and new["price"] not in (None, Decimal(0)):
        raise InvalidPrice(N_("A free meetup has no price: send is_free=false with a price."))
    if new["is_free"]:
        new["price"] = None
    if not new["is_free"] and (new["price"] is None or new["price"] <= 0):
        raise InvalidPrice()
    return new


# --- cancel and delete -----------------------------------------------------------------------------


async def cancel_announcement(
    tx: Tx, *, user: User, announcement_id: uuid.UUID, reason: str | None
) -> Announcement:
    session = tx.session
    announcement = await _lock(session, announcement_id)
    _require_author(announcement, user)
    _require_not_closed(announcement)
    now = clock.now()
    guest_ids = await bookings_service.active_guest_ids(session, announcement.id)
    await bookings_service.cancel_all_for(tx, announcement, now)
    announcement.cancelled_at = now
    announcement.cancel_reason = reason
    announcement.updated_at = now
    await session.flush()
    await users_service.move_hosted_count(session, announcement.author_id, -1)
    await events.record(
        tx,
        EventKind.announcement_cancelled,
        announcement_id=announcement.id,
        actor_id=user.id,
        payload={"reason": reason, "guest_ids": guest_ids},
    )
    log.info("announcement_cancelled", announcement_id=str(announcement.id))
    return announcement


async def delete_announcement(tx: Tx, *, user: User, announcement_id: uuid.UUID) -> None:
    """Delete a meetup that never had a booking (of any status)."""
    session = tx.session
    announcement = await _lock(session, announcement_id)
    _require_author(announcement, user)
    if await bookings_service.has_bookings(session, announcement.id):
        raise HasBookings()
    counted = announcement.cancelled_at is None
    await session.delete(announcement)
    try:
        await session.flush()
    except IntegrityError as exc:  # a booking slipped in (FK ON DELETE RESTRICT)
        raise HasBookings() from exc
    if counted:
        await users_service.move_hosted_count(session, announcement.author_id, -1)
    log.info("announcement_deleted", announcement_id=str(announcement_id))


# --- likes and favorites ---------------------------------------------------------------------------


async def _mark(
    tx: Tx,
    table: type[AnnouncementLike] | type[AnnouncementFavorite],
    user: User,
    announcement_id: uuid.UUID,
) -> bool:
    """Insert the (user, announcement) row; True if it was new."""
    try:
        inserted = await tx.session.scalar(
            insert(table)
            .values(user_id=user.id, announcement_id=announcement_id, created_at=clock.now())
            .on_conflict_do_nothing()
            .returning(col(table.user_id))
        )
    except IntegrityError as exc:  # deleted meanwhile
        raise NotFound(N_("No such announcement.")) from exc
    return inserted is not None


async def _unmark(
    tx: Tx,
    table: type[AnnouncementLike] | type[AnnouncementFavorite],
    user: User,
    announcement_id: uuid.UUID,
) -> bool:
    deleted = await tx.session.scalar(
        delete(table)
        .where(col(table.user_id) == user.id, col(table.announcement_id) == announcement_id)
        .returning(col(table.user_id))
    )
    return deleted is not None


async def _move_likes(session: AsyncSession, announcement_id: uuid.UUID, step: int) -> None:
    await session.execute(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id)
        # A like is not a change of the meetup: `modified` stays.
        .values(
            likes_count=col(Announcement.likes_count) + step,
            updated_at=col(Announcement.updated_at),
        )
        .execution_options(synchronize_session=False)
    )


async def like(tx: Tx, *, user: User, announcement_id: uuid.UUID) -> None:
    if await _mark(tx, AnnouncementLike, user, announcement_id):
        await _move_likes(tx.session, announcement_id, +1)


async def unlike(tx: Tx, *, user: User, announcement_id: uuid.UUID) -> None:
    if await _unmark(tx, AnnouncementLike, user, announcement_id):
        await _move_likes(tx.session, announcement_id, -1)


async def add_favorite(tx: Tx, *, user: User, announcement_id: uuid.UUID) -> None:
    await _mark(tx, AnnouncementFavorite, user, announcement_id)


async def remove_favorite(tx: Tx, *, user: User, announcement_id: uuid.UUID) -> None:
    await _unmark(tx, AnnouncementFavorite, user, announcement_id)


async def retitle_movie(session: AsyncSession, movie_id: uuid.UUID, title: str) -> None:
    """Copy a catalog film's new title to its announcements (called by the movies service, under
    the movie's row lock), locking them in id order: a plain UPDATE locks them in whatever order
    its plan visits them."""
    ids = list(
        await session.scalars(
            select(col(Announcement.id))
            .where(col(Announcement.movie_id) == movie_id)
            .order_by(col(Announcement.id))
            .with_for_update(key_share=True)
        )
    )
    if ids:
        await session.execute(
            update(Announcement)
            .where(col(Announcement.id).in_(ids))
            .values(movie_title=title)
            .execution_options(synchronize_session=False)
        )
