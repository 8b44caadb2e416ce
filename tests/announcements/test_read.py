"""GET /announcements/{id}: the full view, its guest list, and the status as time passes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.announcements.helpers import API, approve, book
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def test_unknown_announcement_is_404_and_a_bad_id_is_422(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"{API}/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert (await client.get(f"{API}/not-a-uuid")).status_code == 422


async def test_guest_list_shows_approved_guests_only(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    ann, bob, eve = (
        await users.create(name="Ann"),
        await users.create(name="Bob"),
        await users.create(name="Eve"),
    )
    meetup = await create_announcement(client, host, tickets_count=4, approval="manual")
    first = await book(client, ann, meetup["id"], seats=2)
    await book(client, bob, meetup["id"])  # stays pending
    third = await book(client, eve, meetup["id"], seats=1)
    await approve(client, host, first["id"])
    await approve(client, host, third["id"])
    body = (await client.get(f"{API}/{meetup['id']}")).json()
    no_rating = {"average": None, "count": 0}
    assert body["guest_list"] == [
        {"user_id": str(ann.id), "name": "Ann", "seats": 2, "guest_rating": no_rating},
        {"user_id": str(eve.id), "name": "Eve", "seats": 1, "guest_rating": no_rating},
    ]
    assert (body["tickets_left"], body["status"]) == (1, "open")


async def test_status_follows_seats_and_time(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await create_announcement(
        client,
        host,
        tickets_count=2,
        approval="auto",
        event_time=clock.now + timedelta(hours=5),
        duration_minutes=90,
    )

    async def status() -> str:
        return (await client.get(f"{API}/{meetup['id']}")).json()["status"]

    assert await status() == "open"
    await book(client, guest, meetup["id"], seats=2)
    assert await status() == "full"
    clock.advance(hours=5)
    assert await status() == "started"
    clock.advance(minutes=89)
    assert await status() == "started"
    clock.advance(minutes=1)
    assert await status() == "finished"


async def test_waitlist_count_is_shown(client: httpx.AsyncClient, users: UserFactory) -> None:
    host, first, second = await users.create(), await users.create(), await users.create()
    meetup = await create_announcement(client, host, tickets_count=1, approval="auto")
    await book(client, first, meetup["id"])
    await book(client, second, meetup["id"], join_waitlist=True)
    body = (await client.get(f"{API}/{meetup['id']}")).json()
    assert (body["status"], body["tickets_left"], body["waitlist_count"]) == ("full", 0, 1)
