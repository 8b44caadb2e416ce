"""A model of one meetup's bookings, run against the real parallel server as a hypothesis state
machine: every request and decision must answer what the model predicts (status or error code),
and after every step the server's statuses, tickets_left and waitlist_count must equal the
model's, the seat invariant must hold, and nobody in the queue may fit the seats it could move
into (first come, first served). Both approval modes; capacity changes included.

The model is the contract's rules written a second time, plainly: a server that refused every
request, or that skipped the approve-time seat check (the CHECK constraint would answer 500
instead of 409 no_seats), or that let the queue stall, fails here without a hand-written example.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.factories import TestUser, UserFactory

GUESTS = 3
ACTIVE = {"pending", "approved", "waitlisted"}


@dataclass
class Booked:
    id: str
    guest: int
    seats: int
    status: str


class MeetupModel(RuleBasedStateMachine):
    http: ClassVar[httpx.Client]
    host: ClassVar[TestUser]
    guests: ClassVar[list[TestUser]]
    slots: ClassVar[itertools.count[int]] = itertools.count()

    # --- the model -------------------------------------------------------------------------------

    def _left(self) -> int:
        return self.capacity - sum(b.seats for b in self.bookings if b.status == "approved")

    def _budget(self) -> int:
        pending = sum(b.seats for b in self.bookings if b.status == "pending")
        return self._left() - (pending if self.manual else 0)

    def _promote(self) -> None:
        budget = self._budget()
        for booking in self.bookings:  # in the order they were made
            if booking.status == "waitlisted" and booking.seats <= budget:
                budget -= booking.seats
                booking.status = "pending" if self.manual else "approved"

    # --- the server ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, user: TestUser, body: Any = None) -> tuple[int, str]:
        response = self.http.request(method, path, headers=user.headers, json=body)
        data = response.json()
        assert response.status_code < 500, data
        return response.status_code, data.get("code") or data.get("status")

    def _decide(self, action: str, booking: Booked, user: TestUser) -> tuple[int, str]:
        return self._call("POST", f"/api/v1/bookings/{booking.id}/{action}", user)

    @initialize(manual=st.booleans(), capacity=st.integers(1, 4))
    def announce(self, manual: bool, capacity: int) -> None:
        # Each example's meetup 4 h after the last one: the guests' bookings never overlap.
        start = datetime.now(UTC) + timedelta(days=2, hours=4 * next(self.slots))
        response = self.http.post(
            "/api/v1/announcements",
            headers=self.host.headers,
            json={
                "title": "Model night",
                "movie_title": "Stalker",
                "description": "",
                "location": "12 Film Street",
                "event_time": start.isoformat(),
                "tickets_count": capacity,
                "approval": "manual" if manual else "auto",
            },
        )
        assert response.status_code == 201, response.json()
        self.meetup_id = response.json()["id"]
        self.manual, self.capacity = manual, capacity
        self.bookings: list[Booked] = []

    @rule(guest=st.integers(0, GUESTS - 1), seats=st.integers(1, 3), join=st.booleans())
    def request(self, guest: int, seats: int, join: bool) -> None:
        left = self._left()
        waiting = any(b.status == "waitlisted" for b in self.bookings)
        if any(b.guest == guest and b.status in ACTIVE for b in self.bookings):
            expected = (409, "already_booked")
        elif seats <= left and (not self.manual or not waiting or seats <= self._budget()):
            expected = (201, "pending" if self.manual else "approved")
        elif join:
            expected = (201, "waitlisted")
        else:
            expected = (409, "no_seats")
        response = self.http.post(
            f"/api/v1/announcements/{self.meetup_id}/bookings",
            headers=self.guests[guest].headers,
            json={"seats": seats, "join_waitlist": join},
        )
        body = response.json()
        assert (response.status_code, body.get("code") or body.get("status")) == expected, body
        if response.status_code == 201:
            self.bookings.append(Booked(body["id"], guest, seats, body["status"]))

    @precondition(lambda self: self.bookings)
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        booking = data.draw(st.sampled_from(self.bookings))
        if booking.status not in ("pending", "waitlisted"):
            expected = (409, "invalid_transition")
        elif booking.seats > self._left():
            expected = (409, "no_seats")
        else:
            expected = (200, "approved")
        assert self._decide("approve", booking, self.host) == expected
        if expected[0] == 200:
            booking.status = "approved"

    @precondition(lambda self: self.bookings)
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        booking = data.draw(st.sampled_from(self.bookings))
        if booking.status not in ("pending", "waitlisted"):
            assert self._decide("reject", booking, self.host) == (409, "invalid_transition")
            return
        assert self._decide("reject", booking, self.host) == (200, "rejected")
        was, booking.status = booking.status, "rejected"
        if was == "pending":
            self._promote()

    @precondition(lambda self: self.bookings)
    @rule(data=st.data(), by_host=st.booleans())
    def cancel(self, data: st.DataObject, by_host: bool) -> None:
        booking = data.draw(st.sampled_from(self.bookings))
        user = self.host if by_host else self.guests[booking.guest]
        if booking.status not in ACTIVE:
            assert self._decide("cancel", booking, user) == (409, "invalid_transition")
            return
        assert self._decide("cancel", booking, user) == (200, "cancelled")
        was, booking.status = booking.status, "cancelled"
        if was in ("approved", "pending"):
            self._promote()

    @rule(capacity=st.integers(1, 6))
    def change_capacity(self, capacity: int) -> None:
        approved = self.capacity - self._left()
        status, _ = self._call(
            "PATCH",
            f"/api/v1/announcements/{self.meetup_id}",
            self.host,
            {"tickets_count": capacity},
        )
        if capacity < approved:
            assert status == 409
            return
        assert status == 200
        grew, self.capacity = capacity > self.capacity, capacity
        if grew:
            self._promote()

    # --- after every step ------------------------------------------------------------------------

    @invariant()
    def server_matches_the_model(self) -> None:
        if not hasattr(self, "meetup_id"):
            return
        listed = self.http.get(
            f"/api/v1/announcements/{self.meetup_id}/bookings",
            headers=self.host.headers,
            params={"limit": 100},
        ).json()["items"]
        assert {b["id"]: b["status"] for b in listed} == {b.id: b.status for b in self.bookings}
        meetup = self.http.get(f"/api/v1/announcements/{self.meetup_id}").json()
        assert meetup["tickets_count"] == self.capacity
        assert meetup["tickets_left"] == self._left() >= 0
        assert meetup["waitlist_count"] == sum(b.status == "waitlisted" for b in self.bookings)
        # First come, first served: nobody waits who would fit where the queue could move.
        pending = sum(b["seats"] for b in listed if b["status"] == "pending")
        budget = meetup["tickets_left"] - (pending if self.manual else 0)
        assert all(b["seats"] > budget for b in listed if b["status"] == "waitlisted")


async def test_bookings_follow_the_model_in_both_approval_modes(
    live_server: str, users: UserFactory
) -> None:
    MeetupModel.host = await users.create()
    MeetupModel.guests = [await users.create() for _ in range(GUESTS)]
    with httpx.Client(base_url=live_server, timeout=30) as http:
        MeetupModel.http = http
        await asyncio.to_thread(
            run_state_machine_as_test,
            MeetupModel,
            settings=settings(
                max_examples=30,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
