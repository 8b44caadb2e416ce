"""`Idempotency-Key` on booking creation."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.bookings import Booking
from tests.bookings.conftest import MakeAnnouncement
from tests.support.factories import UserFactory


async def _post(client: httpx.AsyncClient, guest, meetup_id, key: str, **body) -> httpx.Response:
    return await client.post(
        f"/api/v1/announcements/{meetup_id}/bookings",
        headers={**guest.headers, "Idempotency-Key": key},
        json=body,
    )


async def _bookings(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Booking)) or 0)


async def test_same_key_twice_replays_the_first_response_and_creates_nothing(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host)
    first = await _post(client, guest, meetup.id, "key-1", seats=2)
    second = await _post(client, guest, meetup.id, "key-1", seats=2)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await _bookings(db) == 1


async def test_same_key_with_another_body_is_key_reused(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host)
    await _post(client, guest, meetup.id, "key-1", seats=2)
    reused = await _post(client, guest, meetup.id, "key-1", seats=3)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


async def test_an_error_is_replayed_too(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=1)
    first = await _post(client, guest, meetup.id, "key-1", seats=2)
    assert first.status_code == 409
    second = await _post(client, guest, meetup.id, "key-1", seats=2)
    assert (second.status_code, second.json()) == (409, first.json())


async def test_keys_are_per_user(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host)
    assert (await _post(client, ann, meetup.id, "shared")).status_code == 201
    assert (await _post(client, bob, meetup.id, "shared")).status_code == 201
    assert await _bookings(db) == 2


async def test_two_requests_with_one_key_at_once_create_one_booking(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host)
    responses = await asyncio.gather(
        *(_post(client, guest, meetup.id, "same", seats=1) for _ in range(5))
    )
    assert await _bookings(db) == 1
    # The repeats waited for the first and replayed its answer.
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 4


async def test_64_simultaneous_requests_with_one_key_all_get_the_one_booking(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=100)
    responses = await asyncio.gather(
        *(_post(client, guest, meetup.id, "rush", seats=1) for _ in range(64))
    )
    assert sorted({r.status_code for r in responses}) == [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _bookings(db) == 1


async def test_64_simultaneous_keyed_requests_of_one_user_get_answers_not_503(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    """Each keyed request uses one pool connection (64 > the pool's 20): they queue, none fails."""
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=100)
    responses = await asyncio.gather(
        *(_post(client, guest, meetup.id, f"key-{n}", seats=1) for n in range(64))
    )
    outcomes = sorted((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == [(201, None)] + [(409, "already_booked")] * 63
    assert await _bookings(db) == 1
    # Replays of each key give its first answer.
    again = await _post(client, guest, meetup.id, "key-7", seats=1)
    assert (again.status_code, again.json()) == (
        responses[7].status_code,
        responses[7].json(),
    )


async def test_a_key_with_a_control_character_is_a_422(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host)
    response = await _post(client, guest, meetup.id, "bad\x00key")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
