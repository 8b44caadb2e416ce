"""Announcements as the API shows them: lists (one query with the authors joined) and the full view.

The list filters are plain SQL on indexed columns: the default list ("upcoming": not cancelled,
event_time in the future, by event_time) walks the partial index ix_announcement_upcoming, and a
text search uses the GIN index ix_announcement_search (see tests/announcements/test_query_plans.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.announcements.dependencies import AnnouncementFilters
from app.announcements.models import Announcement, AnnouncementFavorite, AnnouncementStatus
from app.announcements.schemas import AnnouncementListItem, AnnouncementPublic
from app.bookings.models import Booking, BookingStatus
from app.core import clock
from app.core.errors import NotFound
from app.core.pagination import PageParams
from app.movies import service as movies_service
from app.users.models import User

A = Announcement


def _status_condition(status: AnnouncementStatus, now: datetime) -> ColumnElement[bool]:
    """The SQL twin of `Announcement.status_at(now)`."""
    live = A.cancelled_at.is_(None)  # type: ignore[union-attr]
    match status:
        case AnnouncementStatus.cancelled:
            return A.cancelled_at.is_not(None)  # type: ignore[union-attr]
        case AnnouncementStatus.finished:
            return and_(live, A.ends_at <= now)
        case AnnouncementStatus.started:
            return and_(live, A.event_time <= now, A.ends_at > now)
        case AnnouncementStatus.full:
            return and_(live, A.event_time > now, A.approved_seats >= A.tickets_count)
        case AnnouncementStatus.open:
            return and_(live, A.event_time > now, A.approved_seats < A.tickets_count)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: AnnouncementFilters, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(or_(*(_status_condition(s, now) for s in filters.statuses)))
    else:  # upcoming: open and full
        conditions += [A.cancelled_at.is_(None), A.event_time > now]  # type: ignore[union-attr]
    if filters.q and (match := movies_service.matches_text(A.search_vector, filters.q)) is not None:
        conditions.append(match)
    if filters.movie_id is not None:
        conditions.append(A.movie_id == filters.movie_id)
    if filters.author_id is not None:
        conditions.append(A.author_id == filters.author_id)
    if filters.location:
        conditions.append(A.location.ilike(_like_pattern(filters.location.strip()), escape="\\"))  # type: ignore[attr-defined]
    if filters.date_from is not None:
        conditions.append(A.event_time >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(A.event_time <= filters.date_to)
    if filters.has_seats is not None:
        has = A.approved_seats < A.tickets_count
        conditions.append(has if filters.has_seats else ~has)
    if filters.is_free is not None:
        conditions.append(A.is_free.is_(filters.is_free))  # type: ignore[attr-defined]
    if filters.sub_only is not None:
        conditions.append(A.sub_only.is_(filters.sub_only))  # type: ignore[attr-defined]
    if filters.tags:
        conditions.append(A.tags.contains(filters.tags))  # type: ignore[attr-defined]
    return conditions


def _order(sort: str) -> list[Any]:
    match sort:
        case "-event_time":
            return [A.event_time.desc(), A.id]  # type: ignore[attr-defined]
        case "-created":
            return [A.created_at.desc(), A.id]  # type: ignore[attr-defined]
        case "-host_rating":
            average = cast(User.host_rating_sum, Float) / func.nullif(User.host_rating_count, 0)
            return [average.desc().nulls_last(), A.event_time, A.id]
        case "-likes":
            return [A.likes_count.desc(), A.event_time, A.id]  # type: ignore[attr-defined]
        case _:
            return [A.event_time, A.id]


def _with_author() -> Any:
    return (
        select(A, User)
        .join(User, User.id == A.author_id)  # type: ignore[arg-type]
        .options(defer(A.search_vector))  # type: ignore[arg-type]
    )


async def list_announcements(
    session: AsyncSession, filters: AnnouncementFilters, page: PageParams
) -> tuple[list[AnnouncementListItem], int]:
    now = clock.now()
    conditions = _conditions(filters, now)
    total = await session.scalar(select(func.count()).select_from(A).where(*conditions))
    rows = (
        await session.execute(
            _with_author()
            .where(*conditions)
            .order_by(*_order(filters.sort))
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    return [AnnouncementListItem.of(a, author, now) for a, author in rows], int(total or 0)


async def list_favorites(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[AnnouncementListItem], int]:
    """The user's favorites, whatever their status, most recently added first."""
    now = clock.now()
    mine = AnnouncementFavorite.user_id == user_id
    total = await session.scalar(
        select(func.count()).select_from(AnnouncementFavorite).where(mine)  # type: ignore[arg-type]
    )
    rows = (
        await session.execute(
            _with_author()
            .join(AnnouncementFavorite, AnnouncementFavorite.announcement_id == A.id)  # type: ignore[arg-type]
            .where(mine)  # type: ignore[arg-type]
            .order_by(AnnouncementFavorite.created_at.desc(), A.id)  # type: ignore[attr-defined]
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    return [AnnouncementListItem.of(a, author, now) for a, author in rows], int(total or 0)


async def announcement_view(
    session: AsyncSession, announcement_id: uuid.UUID
) -> AnnouncementPublic:
    row = (await session.execute(_with_author().where(A.id == announcement_id))).first()
    if row is None:
        raise NotFound("No such announcement.")
    announcement, author = row
    guests = (
        await session.execute(
            select(Booking.seats, User)
            .join(User, User.id == Booking.guest_id)  # type: ignore[arg-type]
            .where(
                Booking.announcement_id == announcement_id,
                Booking.status == BookingStatus.approved,
            )
            .order_by(Booking.approved_at, Booking.created_at, Booking.id)  # type: ignore[arg-type]
        )
    ).all()
    return AnnouncementPublic.build(
        announcement, author, [(seats, user) for seats, user in guests], clock.now()
    )


_SHORT_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")


async def short_link_target(session: AsyncSession, code: str) -> str:
    """The API path (under /api/v1) that the short code names: an announcement or a booking."""
    if _SHORT_CODE.fullmatch(code):
        announcement_id = await session.scalar(select(A.id).where(A.short_code == code))
        if announcement_id is not None:
            return f"announcements/{announcement_id}"
        booking_id = await session.scalar(select(Booking.id).where(Booking.short_code == code))
        if booking_id is not None:
            return f"bookings/{booking_id}"
    raise NotFound("No such short link.")
