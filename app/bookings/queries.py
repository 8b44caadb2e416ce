"""Bookings as the API shows them: one query joins the announcement, the guest and the host."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.bookings.schemas import BookingPublic
from app.core.pagination import PageParams, Total, page_total
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus
from app.models.users import User

Guest = aliased(User, name="guest")
Host = aliased(User, name="host")


def _base() -> Select[Booking, Announcement, User, User]:
    return (
        select(Booking, Announcement, Guest, Host)
        .join(Announcement, col(Announcement.id) == col(Booking.announcement_id))
        .join(Guest, col(Guest.id) == col(Booking.guest_id))
        .join(Host, col(Host.id) == col(Announcement.author_id))
    )


def _view(booking: Booking, announcement: Announcement, guest: User, host: User) -> BookingPublic:
    return BookingPublic.of(booking, announcement=announcement, guest=guest, host=host)


async def booking_view(session: AsyncSession, booking_id: uuid.UUID) -> BookingPublic | None:
    row = (await session.execute(_base().where(col(Booking.id) == booking_id))).one_or_none()
    return None if row is None else _view(*row)


def _first_of_host(host_id: uuid.UUID, conditions: list[Any], page: PageParams) -> Select[Any]:
    """The ids of the page of a host's bookings, newest first, read meetup by meetup: each of the
    host's meetups gives its offset + limit newest bookings (ix_booking_announcement_created, in
    order), so the page costs the host's meetups times the page, not all their bookings."""
    newest = (
        select(col(Booking.id).label("id"), col(Booking.created_at).label("created_at"))
        .where(col(Booking.announcement_id) == col(Announcement.id), *conditions)
        .order_by(col(Booking.created_at).desc(), col(Booking.id))
        .limit(page.offset + page.limit)
        .lateral("newest")
    )
    return (
        select(newest.c.id, newest.c.created_at)
        .select_from(Announcement)
        .join(newest, true())
        .where(col(Announcement.author_id) == host_id)
        .order_by(newest.c.created_at.desc(), newest.c.id)
        .limit(page.limit)
        .offset(page.offset)
    )


async def list_bookings(
    session: AsyncSession,
    *,
    page: PageParams,
    guest_id: uuid.UUID | None = None,
    host_id: uuid.UUID | None = None,
    announcement_id: uuid.UUID | None = None,
    status: BookingStatus | None = None,
) -> tuple[list[BookingPublic], Total]:
    """A page of bookings, newest first, and its total (counted up to a cap: see `page_total`).

    A guest's list walks ix_booking_guest_created and one meetup's ix_booking_announcement_created
    in the list's order; a host's list merges the newest of each of the host's meetups.
    """
    conditions: list[Any] = []
    if guest_id is not None:
        conditions.append(col(Booking.guest_id) == guest_id)
    if announcement_id is not None:
        conditions.append(col(Booking.announcement_id) == announcement_id)
    if status is not None:
        conditions.append(col(Booking.status) == status)
    matches = select(col(Booking.id)).where(*conditions)
    if host_id is not None:
        matches = matches.join(
            Announcement, col(Announcement.id) == col(Booking.announcement_id)
        ).where(col(Announcement.author_id) == host_id)
    if host_id is not None and announcement_id is None:
        keys = _first_of_host(host_id, conditions, page).subquery("keys")
        query = (
            _base()
            .join(keys, keys.c.id == col(Booking.id))
            .order_by(keys.c.created_at.desc(), keys.c.id)
        )
    else:
        if host_id is not None:
            conditions.append(col(Announcement.author_id) == host_id)
        query = (
            _base()
            .where(*conditions)
            .order_by(col(Booking.created_at).desc(), col(Booking.id))
            .limit(page.limit)
            .offset(page.offset)
        )
    rows = (await session.execute(query)).all()
    total = await page_total(session, matches, page, len(rows))
    return [_view(*row) for row in rows], total
