"""The seat invariant under real parallel requests (a uvicorn with 2 worker processes)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.bookings import Booking, BookingStatus
from tests.bookings.conftest import MakeAnnouncement
from tests.bookings.helpers import seat_state, waitlist_counter_matches
from tests.support.factories import UserFactory


async def test_120_simultaneous_requests_never_overbook_an_auto_meetup(
    live_server: str, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host = await users.create()
    guests = [await users.create() for _ in range(120)]
    meetup = await make_announcement(host, approval="auto", tickets_count=7)
    limits = httpx.Limits(max_connections=120)
    async with httpx.AsyncClient(base_url=live_server, limits=limits, timeout=60) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    f"/api/v1/announcements/{meetup.id}/bookings",
                    headers=guest.headers,
                    json={"seats": random.choice([1, 1, 2]), "join_waitlist": i % 3 == 0},
                )
                for i, guest in enumerate(guests)
            )
        )
    outcomes = [(r.status_code, r.json().get("status") or r.json().get("code")) for r in responses]
    assert all(
        o in {(201, "approved"), (201, "waitlisted"), (409, "no_seats")} for o in outcomes
    ), sorted(set(outcomes))
    tickets, counter, recomputed = await seat_state(db, meetup.id)
    assert counter == recomputed <= tickets
    assert counter >= tickets - 1  # seats were only left when the remaining requests wanted 2
    assert await waitlist_counter_matches(db, meetup.id)


async def test_racing_approvals_cancellations_and_capacity_changes_keep_the_invariant(
    live_server: str, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host = await users.create()
    guests = [await users.create() for _ in range(40)]
    meetup = await make_announcement(host, approval="manual", tickets_count=5)
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        created = await asyncio.gather(
            *(
                http.post(
                    f"/api/v1/announcements/{meetup.id}/bookings",
                    headers=guest.headers,
                    json={"seats": 1 + i % 2, "join_waitlist": True},
                )
                for i, guest in enumerate(guests)
            )
        )
        bookings = [(r.json()["id"], guest) for r, guest in zip(created, guests, strict=True)]
        actions = []
        for booking_id, guest in bookings:
            actions.append(
                http.post(f"/api/v1/bookings/{booking_id}/approve", headers=host.headers)
            )
            if random.random() < 0.4:
                actions.append(
                    http.post(f"/api/v1/bookings/{booking_id}/cancel", headers=guest.headers)
                )
        random.shuffle(actions)
        responses = await asyncio.gather(*actions)
    codes = {(r.status_code, r.json().get("code")) for r in responses}
    assert codes <= {(200, None), (409, "no_seats"), (409, "invalid_transition")}, codes
    tickets, counter, recomputed = await seat_state(db, meetup.id)
    assert counter == recomputed <= tickets
    assert await waitlist_counter_matches(db, meetup.id)


async def test_one_guest_racing_for_overlapping_meetups_gets_only_one(
    live_server: str, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    """The guest's advisory lock is the only guard of time_conflict between simultaneous
    requests: without it, both overlap checks pass and the guest is double-booked."""
    guest = await users.create()
    first = await make_announcement(await users.create(), approval="auto")
    overlapping = [
        await make_announcement(
            await users.create(),
            approval="auto",
            event_time=first.event_time + timedelta(minutes=10 * n),
        )
        for n in range(12)
    ]
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        for _ in range(3):  # a few rounds: each round is a fresh race
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"/api/v1/announcements/{meetup.id}/bookings",
                        headers=guest.headers,
                        json={},
                    )
                    for meetup in overlapping
                )
            )
            outcomes = sorted(
                (r.status_code, r.json().get("status") or r.json().get("code")) for r in responses
            )
            assert outcomes == [(201, "approved")] + [(409, "time_conflict")] * 11, outcomes
            booking_id = next(r.json()["id"] for r in responses if r.status_code == 201)
            cancelled = await http.post(
                f"/api/v1/bookings/{booking_id}/cancel", headers=guest.headers
            )
            assert cancelled.status_code == 200
    async with db.sessionmaker() as session:
        active = await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.guest_id == guest.id, Booking.status == BookingStatus.approved)
        )
    assert active == 0


async def test_keyed_writes_racing_across_processes_create_once_and_never_fail(
    live_server: str, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    """The same Idempotency-Key sent 24 times at once to two server processes: one meetup, one
    booking, every answer the first one's; distinct keys for the same meetup slot: one 201 and
    409 duplicate_announcement for the rest. Never a 5xx."""
    host, guest = await users.create(), await users.create()
    start = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    body = {"title": "Keyed", "movie_title": "Solaris", "location": "Here", "event_time": start}
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:

        async def create(key: str) -> httpx.Response:
            return await http.post(
                "/api/v1/announcements",
                headers={**host.headers, "Idempotency-Key": key},
                json={**body, "tickets_count": 5, "approval": "auto"},
            )

        same = await asyncio.gather(*(create("same-key") for _ in range(24)))
        assert [r.status_code for r in same] == [201] * 24
        assert len({r.json()["id"] for r in same}) == 1
        meetup_id = same[0].json()["id"]

        distinct = await asyncio.gather(*(create(f"key-{n}") for n in range(12)))
        codes = sorted((r.status_code, r.json().get("code")) for r in distinct)
        # The same slot: "same-key"'s meetup already holds it.
        assert codes == [(409, "duplicate_announcement")] * 12, codes

        bookings = await asyncio.gather(
            *(
                http.post(
                    f"/api/v1/announcements/{meetup_id}/bookings",
                    headers={**guest.headers, "Idempotency-Key": "book-once"},
                    json={"seats": 2},
                )
                for _ in range(24)
            )
        )
    assert [r.status_code for r in bookings] == [201] * 24
    assert len({r.json()["id"] for r in bookings}) == 1
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.guest_id == guest.id)
        )
    assert count == 1
