"""The host approves and rejects, either side cancels, the waitlist moves, bookings expire."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx

from app.bookings.tasks import expire_started_bookings
from app.core.db import Database
from tests.bookings.conftest import MakeAnnouncement
from tests.bookings.helpers import act, book, seat_state, waitlist_counter_matches
from tests.support.clock import TestClock
from tests.support.factories import UserFactory

RunWorker = Callable[[], Awaitable[int]]


async def test_host_approves_a_pending_booking_once(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    booking = (await book(client, guest, meetup.id, seats=3)).json()
    approved = await act(client, host, booking["id"], "approve")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert await seat_state(db, meetup.id) == (4, 3, 3)
    again = await act(client, host, booking["id"], "approve")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


async def test_approving_beyond_capacity_is_no_seats(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual", tickets_count=3)
    first = (await book(client, ann, meetup.id, seats=2)).json()
    second = (await book(client, bob, meetup.id, seats=2)).json()
    assert (await act(client, host, first["id"], "approve")).status_code == 200
    refused = await act(client, host, second["id"], "approve")
    assert refused.status_code == 409
    assert refused.json()["code"] == "no_seats"
    assert await seat_state(db, meetup.id) == (3, 2, 2)


async def test_only_the_host_decides_and_strangers_do_not_see_the_booking(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest, stranger = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    booking = (await book(client, guest, meetup.id)).json()
    own = await act(client, guest, booking["id"], "approve")
    assert own.status_code == 403
    assert own.json()["code"] == "forbidden"
    for action in ("approve", "reject", "cancel"):
        hidden = await act(client, stranger, booking["id"], action)
        assert hidden.status_code == 404, action


async def test_reject_with_reason_and_rejecting_an_approved_booking_is_invalid(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    pending = (await book(client, ann, meetup.id)).json()
    rejected = await act(client, host, pending["id"], "reject", reason="Full house, sorry")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "Full house, sorry"
    other = (await book(client, bob, meetup.id)).json()
    await act(client, host, other["id"], "approve")
    invalid = await act(client, host, other["id"], "reject")
    assert invalid.status_code == 409
    assert invalid.json()["code"] == "invalid_transition"


async def test_cancel_frees_seats_and_promotes_earliest_waitlisted_that_fit(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host = await users.create()
    holder, big, small, later = [await users.create() for _ in range(4)]
    meetup = await make_announcement(host, approval="auto", tickets_count=3)
    held = (await book(client, holder, meetup.id, seats=2)).json()
    await book(client, big, meetup.id, seats=3, join_waitlist=True)  # 1 free: does not fit
    waiting_small = (await book(client, small, meetup.id, seats=2, join_waitlist=True)).json()
    waiting_later = (await book(client, later, meetup.id, seats=1)).json()  # takes the free seat
    assert waiting_later["status"] == "approved"
    assert waiting_small["status"] == "waitlisted"

    cancelled = await act(client, holder, held["id"], "cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    # 2 seats free now: the 3-seat request still does not fit; the 2-seat one is next and fits.
    promoted = await client.get(f"/api/v1/bookings/{waiting_small['id']}", headers=small.headers)
    assert promoted.json()["status"] == "approved"
    assert await seat_state(db, meetup.id) == (3, 3, 3)
    assert await waitlist_counter_matches(db, meetup.id)


async def test_manual_meetup_promotes_waitlist_to_pending(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual", tickets_count=1)
    first = (await book(client, ann, meetup.id)).json()
    await act(client, host, first["id"], "approve")
    waiting = (await book(client, bob, meetup.id, join_waitlist=True)).json()
    assert waiting["status"] == "waitlisted"
    await act(client, host, first["id"], "cancel")
    now = await client.get(f"/api/v1/bookings/{waiting['id']}", headers=bob.headers)
    assert now.json()["status"] == "pending"
    assert await seat_state(db, meetup.id) == (1, 0, 0)
    assert (await act(client, host, waiting["id"], "approve")).json()["status"] == "approved"


async def test_waitlisted_guest_can_leave(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=1)
    await book(client, ann, meetup.id)
    waiting = (await book(client, bob, meetup.id, join_waitlist=True)).json()
    left = await act(client, bob, waiting["id"], "cancel")
    assert left.json()["status"] == "cancelled"
    assert await waitlist_counter_matches(db, meetup.id)


async def test_cancelling_after_the_start_is_closed(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, event_time=clock.now + timedelta(hours=2))
    booking = (await book(client, guest, meetup.id)).json()
    clock.advance(hours=2)
    response = await act(client, guest, booking["id"], "cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "announcement_closed"


async def test_pending_and_waitlisted_expire_when_the_meetup_starts(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
    db: Database,
    app,
) -> None:
    host, ann, bob, cid = (
        await users.create(),
        await users.create(),
        await users.create(),
        await users.create(),
    )
    meetup = await make_announcement(
        host, approval="manual", tickets_count=2, event_time=clock.now + timedelta(hours=3)
    )
    approved = (await book(client, ann, meetup.id)).json()
    await act(client, host, approved["id"], "approve")
    pending = (await book(client, bob, meetup.id)).json()
    waitlisted = (await book(client, cid, meetup.id, seats=2, join_waitlist=True)).json()
    assert (pending["status"], waitlisted["status"]) == ("pending", "waitlisted")
    ctx = {"db": db, "redis": app.state.redis}
    assert await expire_started_bookings(ctx) == 0  # not started yet
    clock.advance(hours=3)
    assert await expire_started_bookings(ctx) == 2
    statuses = {
        b["id"]: b["status"]
        for b in (
            await client.get(f"/api/v1/announcements/{meetup.id}/bookings", headers=host.headers)
        ).json()["items"]
    }
    assert statuses == {
        approved["id"]: "approved",
        pending["id"]: "expired",
        waitlisted["id"]: "expired",
    }
    assert await expire_started_bookings(ctx) == 0  # idempotent
    assert await waitlist_counter_matches(db, meetup.id)
