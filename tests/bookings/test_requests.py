"""Requesting seats: the rules and their error codes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from app.core.db import Database
from app.models.bookings import BookingStatus
from tests.bookings.conftest import MakeAnnouncement
from tests.bookings.helpers import book, seat_state, waitlist_counter_matches
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups


async def test_auto_meetup_approves_at_once_and_counts_the_seats(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(name="Host"), await users.create(name="Guest")
    meetup = await make_announcement(host, approval="auto", tickets_count=4)
    response = await book(client, guest, meetup.id, seats=2, message="Can I bring snacks?")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "approved"
    assert body["seats"] == 2
    assert body["message"] == "Can I bring snacks?"
    assert body["announcement"]["id"] == str(meetup.id)
    assert body["announcement"]["title"] == meetup.title
    assert body["guest"] == {
        "id": str(guest.id),
        "name": "Guest",
        "guest_rating": {"average": None, "count": 0},
    }
    assert body["host"]["id"] == str(host.id)
    assert await seat_state(db, meetup.id) == (4, 2, 2)


async def test_manual_meetup_makes_a_pending_request_that_takes_no_seat(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    response = await book(client, guest, meetup.id)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert await seat_state(db, meetup.id) == (4, 0, 0)


async def test_booking_own_meetup_is_forbidden(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host = await users.create()
    meetup = await make_announcement(host)
    response = await book(client, host, meetup.id)
    assert response.status_code == 403
    assert response.json()["code"] == "own_announcement"


async def test_subscribers_only_meetup_needs_following_the_host(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, sub_only=True)
    refused = await book(client, guest, meetup.id)
    assert refused.status_code == 403
    assert refused.json()["code"] == "subscribers_only"
    await client.put(f"/api/v1/users/{host.id}/follow", headers=guest.headers)
    assert (await book(client, guest, meetup.id)).status_code == 201


async def test_second_active_booking_on_one_meetup_is_already_booked(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host)
    assert (await book(client, guest, meetup.id)).status_code == 201
    again = await book(client, guest, meetup.id)
    assert again.status_code == 409
    assert again.json()["code"] == "already_booked"


async def test_rebooking_after_cancelling_is_allowed(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host)
    first = (await book(client, guest, meetup.id)).json()
    await client.post(f"/api/v1/bookings/{first['id']}/cancel", headers=guest.headers)
    assert (await book(client, guest, meetup.id)).status_code == 201


async def test_overlapping_meetups_are_a_time_conflict_but_back_to_back_is_fine(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    start = clock.now + timedelta(days=3)
    first = await make_announcement(host, event_time=start, duration_minutes=120)
    overlapping = await make_announcement(host, event_time=start + timedelta(minutes=90))
    back_to_back = await make_announcement(host, event_time=start + timedelta(minutes=120))
    assert (await book(client, guest, first.id)).status_code == 201
    conflict = await book(client, guest, overlapping.id)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "time_conflict"
    assert (await book(client, guest, back_to_back.id)).status_code == 201


async def test_no_seats_or_waitlist_when_seats_are_short(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=2)
    assert (await book(client, ann, meetup.id, seats=2)).json()["status"] == "approved"
    refused = await book(client, bob, meetup.id)
    assert refused.status_code == 409
    assert refused.json()["code"] == "no_seats"
    waiting = await book(client, bob, meetup.id, join_waitlist=True)
    assert waiting.status_code == 201
    assert waiting.json()["status"] == "waitlisted"
    assert await waitlist_counter_matches(db, meetup.id)


async def test_cancelled_or_started_meetup_is_closed(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    cancelled = await make_announcement(host, cancelled_at=clock.now)
    response = await book(client, guest, cancelled.id)
    assert response.status_code == 409
    assert response.json()["code"] == "announcement_closed"
    soon = await make_announcement(host, event_time=clock.now + timedelta(hours=1))
    clock.advance(hours=1)
    started = await book(client, guest, soon.id)
    assert started.status_code == 409
    assert started.json()["code"] == "announcement_closed"


async def test_seats_must_be_1_to_10(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=100)
    for seats in (0, 11):
        assert (await book(client, guest, meetup.id, seats=seats)).status_code == 422


async def test_errors_come_in_contract_order(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host = await users.create()
    meetup = await make_announcement(host)
    # 401 before anything else
    anonymous = await client.post(f"/api/v1/announcements/{meetup.id}/bookings", json={"seats": 0})
    assert anonymous.status_code == 401
    # 404 before 422
    unknown = await book(client, host, uuid.uuid4(), seats=0)
    assert unknown.status_code == 404
    # 422 before 403
    assert (await book(client, host, meetup.id, seats=0)).status_code == 422


async def test_403_and_the_409s_come_in_contract_order(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    meetups: Meetups,
    clock: TestClock,
) -> None:
    """403 before 409 announcement_closed before already_booked before time_conflict before
    no_seats: each pair set up so that both apply, the earlier must win."""
    host, guest = await users.create(), await users.create()
    full = await make_announcement(host, tickets_count=1, sub_only=True)
    await meetups.book(full, await users.create(), seats=1)
    # The guest holds a booking on it already (written directly: booking it would be refused)
    # and one on another meetup at the same time.
    await meetups.book(full, guest, BookingStatus.pending)
    elsewhere = await make_announcement(await users.create(), event_time=full.event_time)
    await meetups.book(elsewhere, guest)

    async def code() -> str:
        return str((await book(client, guest, full.id)).json()["code"])

    assert await code() == "subscribers_only"  # 403 before every 409
    follow = await client.put(f"/api/v1/users/{host.id}/follow", headers=guest.headers)
    assert follow.status_code == 204
    clock.set(full.event_time + timedelta(minutes=1))
    assert await code() == "announcement_closed"  # closed before already_booked
    clock.set(full.event_time - timedelta(days=1))
    assert await code() == "already_booked"  # before time_conflict
    other = await make_announcement(
        host, tickets_count=1, event_time=full.event_time + timedelta(minutes=30)
    )
    await meetups.book(other, await users.create(), seats=1)
    response = await book(client, guest, other.id)
    assert response.json()["code"] == "time_conflict"  # before no_seats (it is full too)
