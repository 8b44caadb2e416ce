"""GET /s/{code}: short links to announcements and bookings."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models.bookings import Booking
from tests.announcements.helpers import book
from tests.support.announcements import create_announcement
from tests.support.factories import UserFactory


async def test_announcement_short_link_redirects_to_its_api_url(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    meetup = await create_announcement(client, await users.create())
    code = meetup["short_url"].rsplit("/s/", 1)[1]
    assert meetup["short_url"] == f"http://meetup.test/s/{code}"
    response = await client.get(f"/s/{code}")
    assert response.status_code == 307
    assert response.headers["location"] == f"http://meetup.test/api/v1/announcements/{meetup['id']}"


async def test_booking_short_link_redirects_to_the_booking(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    guest = await users.create()
    meetup = await create_announcement(client, await users.create())
    booking = await book(client, guest, meetup["id"])
    async with db.sessionmaker() as session:
        code = await session.scalar(select(Booking.short_code).where(Booking.id == booking["id"]))
    response = await client.get(f"/s/{code}")
    assert response.status_code == 307
    assert response.headers["location"] == f"http://meetup.test/api/v1/bookings/{booking['id']}"


async def test_unknown_short_link_is_404(client: httpx.AsyncClient) -> None:
    for code in ("nope123456", "with%20space", "x" * 40, "%00"):
        response = await client.get(f"/s/{code}")
        assert response.status_code == 404, code
        assert response.json()["code"] == "not_found"
