"""The waitlist moves whenever seats or a queue position free up, in both approval modes, and
keeps first-come order against newcomers (issue 13's confirmed defects)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.bookings.conftest import MakeAnnouncement
from tests.bookings.helpers import act, book
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory


async def _status(client: httpx.AsyncClient, user: TestUser, booking: dict) -> str:
    response = await client.get(f"/api/v1/bookings/{booking['id']}", headers=user.headers)
    return str(response.json()["status"])


async def _seat_freed_with_two_waiting(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> tuple[TestUser, TestUser, dict, TestUser, dict]:
    """A manual meetup of one seat: ann approved, bob then cyd waiting, then ann cancels, so bob
    is promoted to pending. Returns (host, bob, bob's booking, cyd, cyd's booking)."""
    host, ann, bob, cyd = [await users.create() for _ in range(4)]
    meetup = await make_announcement(host, approval="manual", tickets_count=1)
    first = (await book(client, ann, meetup.id)).json()
    await act(client, host, first["id"], "approve")
    bob_waits = (await book(client, bob, meetup.id, join_waitlist=True)).json()
    cyd_waits = (await book(client, cyd, meetup.id, join_waitlist=True)).json()
    await act(client, ann, first["id"], "cancel")
    assert await _status(client, bob, bob_waits) == "pending"
    assert await _status(client, cyd, cyd_waits) == "waitlisted"
    return host, bob, bob_waits, cyd, cyd_waits


async def test_manual_rejecting_a_promoted_booking_promotes_the_next_in_line(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, _, bob_waits, cyd, cyd_waits = await _seat_freed_with_two_waiting(
        client, users, make_announcement
    )
    await act(client, host, bob_waits["id"], "reject")  # bob's turn is over: cyd moves up

    assert await _status(client, cyd, cyd_waits) == "pending"


async def test_manual_a_promoted_guest_cancelling_promotes_the_next_in_line(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    _, bob, bob_waits, cyd, cyd_waits = await _seat_freed_with_two_waiting(
        client, users, make_announcement
    )
    await act(client, bob, bob_waits["id"], "cancel")

    assert await _status(client, cyd, cyd_waits) == "pending"


async def test_manual_a_newcomer_does_not_pass_the_queue(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    _, _, _, cyd, cyd_waits = await _seat_freed_with_two_waiting(client, users, make_announcement)
    meetup_id = cyd_waits["announcement"]["id"]

    newcomer = await book(client, await users.create(), meetup_id, join_waitlist=True)
    refused = await book(client, await users.create(), meetup_id)

    assert newcomer.json()["status"] == "waitlisted"  # behind cyd, not pending ahead of her
    assert (refused.status_code, refused.json()["code"]) == (409, "no_seats")
    assert await _status(client, cyd, cyd_waits) == "waitlisted"


async def test_auto_freed_seats_go_to_the_first_waiting_guest_who_fits(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, ann, bob, cyd = [await users.create() for _ in range(4)]
    meetup = await make_announcement(host, approval="auto", tickets_count=2)
    first = (await book(client, ann, meetup.id, seats=2)).json()
    bob_waits = (await book(client, bob, meetup.id, seats=2, join_waitlist=True)).json()
    cyd_waits = (await book(client, cyd, meetup.id, seats=1, join_waitlist=True)).json()
    await act(client, ann, first["id"], "cancel")

    assert await _status(client, bob, bob_waits) == "approved"
    assert await _status(client, cyd, cyd_waits) == "waitlisted"


async def test_a_pending_booking_cannot_be_rejected_once_the_meetup_started(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    pending = (await book(client, guest, meetup.id)).json()
    clock.set(meetup.event_time + timedelta(minutes=1))

    late = await act(client, host, pending["id"], "reject")

    assert (late.status_code, late.json()["code"]) == (409, "announcement_closed")
