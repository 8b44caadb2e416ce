"""Announcements as the API shows them: lists (one query with the authors joined) and the full view.

Every list page reads about as many index entries as it shows, never the whole table (see
tests/announcements/test_query_plans.py; the indexes are in models.py):
- the upcoming set (not cancelled, event_time in the future) is walked in the order asked for:
  by event_time on ix_announcement_upcoming (which also answers is_free and sub_only inside the
  index), by -created on ix_announcement_upcoming_created, by -likes on
  ix_announcement_upcoming_likes, and by -host_rating host by host (`_by_host_rating`) when more
  than the cap match (else the few matches are sorted);
- `q` uses the GIN index ix_announcement_search, `tag` ix_announcement_tags, `movie_id` and
  `author_id` their own indexes, `status=full` / `has_seats=false` ix_announcement_full,
  `status=cancelled` ix_announcement_cancelled; `started` and `finished` are event_time ranges of
  ix_announcement_upcoming; then the matches (few, or already in order) are sorted;
- `location` (ILIKE '%x%') has no index (pg_trgm is not available): it filters the rows of
  whichever index the rest chose;
- `total` counts at most offset + limit + COUNT_CAP matches (app/core/pagination.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, Subquery, cast, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlmodel import col

from app.announcements.dependencies import AnnouncementFilters
from app.announcements.schemas import AnnouncementListItem, AnnouncementPublic
from app.core import clock, search
from app.core.db import custom_plans
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.pagination import PageParams, Total, count_capped, page_total
from app.models.announcements import Announcement, AnnouncementFavorite, AnnouncementStatus
from app.models.bookings import Booking, BookingStatus
from app.models.users import User
from app.users import service as users_service

A = Announcement


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: AnnouncementFilters, now: datetime) -> list[SQLCoreOperations[bool]]:
    conditions: list[SQLCoreOperations[bool]] = []
    if filters.statuses:
        conditions.append(or_(*(A.has_status(s, now) for s in filters.statuses)))
    else:  # upcoming: open and full
        conditions.append(A.is_open_at(now))
    if filters.q and (match := search.matches_text(col(A.search_vector), filters.q)) is not None:
        conditions.append(match)
    if filters.movie_id is not None:
        conditions.append(col(A.movie_id) == filters.movie_id)
    if filters.author_id is not None:
        conditions.append(col(A.author_id) == filters.author_id)
    if filters.location:
        conditions.append(
            col(A.location).ilike(_like_pattern(filters.location.strip()), escape="\\")
        )
    if filters.date_from is not None:
        conditions.append(col(A.event_time) >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(col(A.event_time) <= filters.date_to)
    if filters.has_seats is not None:
        conditions.append(~A.full_condition() if filters.has_seats else A.full_condition())
    if filters.is_free is not None:
        conditions.append(col(A.is_free).is_(filters.is_free))
    if filters.sub_only is not None:
        conditions.append(col(A.sub_only).is_(filters.sub_only))
    if filters.tags:
        conditions.append(col(A.tags).contains(filters.tags))
    return conditions


def _host_average(user: Any) -> ColumnElement[float]:
    """The host's average rating, NULL when unrated (sorted last)."""
    return cast(user.host_rating_sum, Float()) / func.nullif(user.host_rating_count, 0)


def _order(sort: str) -> list[Any]:
    match sort:
        case "-event_time":
            return [col(A.event_time).desc(), col(A.id)]
        case "-created":
            return [col(A.created_at).desc(), col(A.id)]
        case "-host_rating":
            return [_host_average(User).desc().nulls_last(), col(A.event_time), col(A.id)]
        case "-likes":
            return [col(A.likes_count).desc(), col(A.event_time), col(A.id)]
        case _:
            return [col(A.event_time), col(A.id)]


def _count_in_order(filters: AnnouncementFilters) -> bool:
    """Whether the total is counted in the page's order (`count_capped`): for the upcoming set,
    the newest rows, at the end of the table, where a sequential scan the planner may pick
    reaches them last. Not for past or cancelled meetups (older rows, where such a scan does
    stop early, while the order would sort them all), nor with `location`: nothing estimates an
    ILIKE '%x%', the planner takes it for rare and would sort every match."""
    upcoming = set(filters.statuses) <= {AnnouncementStatus.open, AnnouncementStatus.full}
    return upcoming and not filters.location


def _count_order(sort: str) -> Any:
    """The leading key of the order: the count walks the same index as the page (see
    `count_capped`)."""
    match sort:
        case "-event_time":
            return col(A.event_time).desc()
        case "-created":
            return col(A.created_at).desc()
        case "-likes":
            return col(A.likes_count).desc()
        case _:
            return col(A.event_time)


def _with_author() -> Select[Announcement, User]:
    return (
        select(A, User)
        .join(User, col(User.id) == col(A.author_id))
        # defer() takes the class attribute; SQLModel types it as the field's value type.
        .options(defer(A.search_vector))  # type: ignore[arg-type]
    )


def _by_host_rating(
    conditions: list[SQLCoreOperations[bool]], page: PageParams
) -> Select[Announcement, User]:
    """The page by -host_rating without sorting the (many) matches: the hosts in rating order, each
    contributing its first offset + limit matches by event_time (through the index on
    (author_id, event_time) INCLUDE (id) of live announcements, usually index only), the
    offset + limit first of those (an incremental sort: only hosts of equal rating are sorted
    together), then the rows of just that page with their authors.

    No index orders user_account by rating (that table is the users domain's), so the hosts are
    read and sorted whole: narrow rows, about 1 ms per 3 000 users; everything else is O(page).
    """
    rating = _host_average(User).label("rating")
    hosts = (
        select(col(User.id).label("author_id"), rating)
        .order_by(rating.desc().nulls_last())
        .subquery("hosts")
    )
    firsts = (
        select(col(A.id).label("id"), col(A.event_time).label("event_time"))
        .where(col(A.author_id) == hosts.c.author_id, *conditions)
        .order_by(col(A.event_time), col(A.id))
        .limit(page.offset + page.limit)
        .lateral("firsts")
    )
    order = (hosts.c.rating.desc().nulls_last(), firsts.c.event_time, firsts.c.id)
    keys = (
        select(firsts.c.id, hosts.c.rating, firsts.c.event_time)
        .select_from(hosts)
        .join(firsts, true())
        .order_by(*order)
        .limit(page.limit)
        .offset(page.offset)
        .subquery("keys")
    )
    return (
        _with_author()
        .join(keys, keys.c.id == col(A.id))
        .order_by(keys.c.rating.desc().nulls_last(), keys.c.event_time, keys.c.id)
    )


async def list_announcements(
    session: AsyncSession, filters: AnnouncementFilters, page: PageParams
) -> tuple[list[AnnouncementListItem], Total]:
    now = clock.now()
    await custom_plans(session)
    conditions = _conditions(filters, now)
    matches = select(col(A.id)).where(*conditions)
    if _count_in_order(filters):
        matches = matches.order_by(_count_order(filters.sort))
    flat = (
        _with_author()
        .where(*conditions)
        .order_by(*_order(filters.sort))
        .limit(page.limit)
        .offset(page.offset)
    )
    if filters.sort == "-host_rating":
        # Counted first: up to the cap, sorting the matches is cheap (a bounded sort); beyond,
        # the hosts are walked by rating instead of sorting every match.
        total = await count_capped(session, matches, page)
        query = _by_host_rating(conditions, page) if total.is_estimate else flat
        rows = (await session.execute(query)).all()
    else:
        rows = (await session.execute(flat)).all()
        total = await page_total(session, matches, page, len(rows))
    return [AnnouncementListItem.listed(a, author, now) for a, author in rows], total


async def list_favorites(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[AnnouncementListItem], Total]:
    """The user's favorites, whatever their status, most recently added first (the index
    ix_announcement_favorite_user_created holds them in that order)."""
    now = clock.now()
    F = AnnouncementFavorite
    mine = col(F.user_id) == user_id
    rows = (
        await session.execute(
            _with_author()
            .join(F, col(F.announcement_id) == col(A.id))
            .where(mine)
            .order_by(col(F.created_at).desc(), col(F.announcement_id))
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    total = await page_total(session, select(col(F.announcement_id)).where(mine), page, len(rows))
    return [AnnouncementListItem.listed(a, author, now) for a, author in rows], total


async def announcement_view(
    session: AsyncSession, announcement_id: uuid.UUID, viewer: User | None = None
) -> AnnouncementPublic:
    """The full view; `friends_going` (the viewer's friends among the approved guests) only for
    a signed-in viewer, else null."""
    row = (await session.execute(_with_author().where(col(A.id) == announcement_id))).first()
    if row is None:
        raise NotFound(N_("No such announcement."))
    announcement, author = row
    guests = (
        await session.execute(
            select(col(Booking.seats), User)
            .join(User, col(User.id) == col(Booking.guest_id))
            .where(
                col(Booking.announcement_id) == announcement_id,
                col(Booking.status) == BookingStatus.approved,
            )
            .order_by(col(Booking.approved_at), col(Booking.created_at), col(Booking.id))
        )
    ).all()
    guest_list = [(seats, user) for seats, user in guests]
    friends_going = None
    if viewer is not None:
        friends = await users_service.friend_ids_among(
            session, viewer.id, [user.id for _, user in guest_list]
        )
        friends_going = [user for _, user in guest_list if user.id in friends]
    return AnnouncementPublic.build(
        announcement, author, guest_list, clock.now(), friends_going=friends_going
    )


_SHORT_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")


async def short_link_target(session: AsyncSession, code: str) -> str:
    """The API path (under /api/v1) that the short code names: an announcement or a booking."""
    if _SHORT_CODE.fullmatch(code):
        announcement_id = await session.scalar(select(col(A.id)).where(col(A.short_code) == code))
        if announcement_id is not None:
            return f"announcements/{announcement_id}"
        booking_id = await session.scalar(
            select(col(Booking.id)).where(col(Booking.short_code) == code)
        )
        if booking_id is not None:
            return f"bookings/{booking_id}"
    raise NotFound(N_("No such short link."))


def upcoming_per_movie(now: datetime) -> Subquery:
    """(movie_id, upcoming): how many meetups of each catalog film are still open to bookings
    (not cancelled, not started), read from the partial index of upcoming meetups."""
    return (
        select(col(A.movie_id).label("movie_id"), func.count().label("upcoming"))
        .where(col(A.movie_id).is_not(None), A.is_open_at(now))
        .group_by(col(A.movie_id))
        .subquery("upcoming_per_movie")
    )


async def upcoming_counts(
    session: AsyncSession, movie_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """The films' upcoming meetups, for a page of films (one query)."""
    if not movie_ids:
        return {}
    rows = await session.execute(
        select(col(A.movie_id), func.count())
        .where(col(A.movie_id).in_(movie_ids), A.is_open_at(now))
        .group_by(col(A.movie_id))
    )
    return {movie_id: count for movie_id, count in rows.all() if movie_id is not None}
