"""Bookings as the API shows them: one query joins the announcement, the guest and the host."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.announcements.models import Announcement
from app.bookings.models import Booking, BookingStatus
from app.bookings.schemas import BookingAnnouncement, BookingGuest, BookingHost, BookingPublic
from app.core.pagination import PageParams
from app.users.models import User
from app.users.schemas import guest_rating, host_rating

Guest = aliased(User, name="guest")
Host = aliased(User, name="host")


def _base() -> Select[Any]:
    return (
        select(Booking, Announcement, Guest, Host)
        .join(Announcement, Announcement.id == Booking.announcement_id)
        .join(Guest, Guest.id == Booking.guest_id)
        .join(Host, Host.id == Announcement.author_id)
    )


def _view(booking: Booking, announcement: Announcement, guest: User, host: User) -> BookingPublic:
    return BookingPublic(
        id=booking.id,
        announcement=BookingAnnouncement(
            id=announcement.id,
            title=announcement.title,
            movie_title=announcement.movie_title,
            event_time=announcement.event_time,
            location=announcement.location,
        ),
        guest=BookingGuest(id=guest.id, name=guest.name, guest_rating=guest_rating(guest)),
        host=BookingHost(id=host.id, name=host.name, host_rating=host_rating(host)),
        seats=booking.seats,
        status=booking.status,
        message=booking.message,
        reason=booking.reason,
        created=booking.created_at,
        modified=booking.updated_at,
    )


async def booking_view(session: AsyncSession, booking_id: uuid.UUID) -> BookingPublic | None:
    row = (await session.execute(_base().where(Booking.id == booking_id))).one_or_none()
    return None if row is None else _view(*row)


async def list_bookings(
    session: AsyncSession,
    *,
    page: PageParams,
    guest_id: uuid.UUID | None = None,
    host_id: uuid.UUID | None = None,
    announcement_id: uuid.UUID | None = None,
    status: BookingStatus | None = None,
) -> tuple[list[BookingPublic], int]:
    conditions = []
    if guest_id is not None:
        conditions.append(Booking.guest_id == guest_id)
    if host_id is not None:
        conditions.append(Announcement.author_id == host_id)
    if announcement_id is not None:
        conditions.append(Booking.announcement_id == announcement_id)
    if status is not None:
        conditions.append(Booking.status == status)
    total = await session.scalar(
        select(func.count())
        .select_from(Booking)
        .join(Announcement, Announcement.id == Booking.announcement_id)
        .where(*conditions)
    )
    rows = (
        await session.execute(
            _base()
            .where(*conditions)
            .order_by(Booking.created_at.desc(), Booking.id)  # type: ignore[attr-defined]
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    return [_view(*row) for row in rows], int(total or 0)
