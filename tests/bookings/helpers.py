from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus
from tests.support.factories import TestUser


async def book(
    client: httpx.AsyncClient, guest: TestUser, announcement_id: uuid.UUID, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/announcements/{announcement_id}/bookings", headers=guest.headers, json=body
    )


async def act(
    client: httpx.AsyncClient, user: TestUser, booking_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/bookings/{booking_id}/{action}", headers=user.headers, json=body or None
    )


async def seat_state(db: Database, announcement_id: uuid.UUID) -> tuple[int, int, int]:
    """(tickets_count, approved_seats counter, approved seats recomputed from bookings)."""
    async with db.sessionmaker() as session:
        announcement = await session.get(Announcement, announcement_id)
        assert announcement is not None
        recomputed = await session.scalar(
            select(func.coalesce(func.sum(Booking.seats), 0)).where(
                Booking.announcement_id == announcement_id,
                Booking.status == BookingStatus.approved,
            )
        )
        return announcement.tickets_count, announcement.approved_seats, int(recomputed or 0)


async def waitlist_counter_matches(db: Database, announcement_id: uuid.UUID) -> bool:
    async with db.sessionmaker() as session:
        announcement = await session.get(Announcement, announcement_id)
        assert announcement is not None
        rows = await session.scalar(
            select(func.count()).where(
                Booking.announcement_id == announcement_id,
                Booking.status == BookingStatus.waitlisted,
            )
        )
        return announcement.waitlist_count == rows
