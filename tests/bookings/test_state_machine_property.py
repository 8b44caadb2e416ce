"""Property: any sequence of booking requests and decisions keeps the seat invariant."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.core.db import Database
from tests.bookings.conftest import MakeAnnouncement
from tests.bookings.helpers import seat_state, waitlist_counter_matches
from tests.support.factories import UserFactory

GUESTS = 3

operation = st.one_of(
    st.tuples(
        st.just("request"),
        st.integers(0, GUESTS - 1),
        st.integers(1, 3),
        st.booleans(),
    ),
    st.tuples(st.sampled_from(["approve", "reject"]), st.integers(0, GUESTS - 1)),
    st.tuples(st.just("cancel"), st.integers(0, GUESTS - 1), st.booleans()),
    st.tuples(st.just("capacity"), st.integers(1, 8)),
)

ALLOWED = {
    (201, None),
    (200, None),
    (409, "no_seats"),
    (409, "already_booked"),
    (409, "invalid_transition"),
    (409, "capacity_below_booked"),
    (404, "not_found"),  # acting on a guest who has no booking yet
}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=25), manual=st.booleans())
# Two pending requests that each fit, then both approved: the second must be no_seats.
@example(
    operations=[("request", 0, 2, False), ("request", 1, 2, False), ("approve", 0), ("approve", 1)],
    manual=True,
)
async def test_any_sequence_keeps_the_seat_invariant(
    operations: list[tuple],
    manual: bool,
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    db: Database,
) -> None:
    async with db.engine.begin() as conn:  # each example starts from an empty meetup world
        await conn.execute(text("TRUNCATE booking, domain_event, announcement CASCADE"))
    host = await users.create()
    guests = [await users.create() for _ in range(GUESTS)]
    meetup = await make_announcement(host, approval="manual" if manual else "auto", tickets_count=3)
    latest: dict[int, str] = {}  # guest index -> their latest booking id
    for op in operations:
        kind = op[0]
        if kind == "request":
            _, g, seats, waitlist = op
            response = await client.post(
                f"/api/v1/announcements/{meetup.id}/bookings",
                headers=guests[g].headers,
                json={"seats": seats, "join_waitlist": waitlist},
            )
            if response.status_code == 201:
                latest[g] = response.json()["id"]
        elif kind == "capacity":
            response = await client.patch(
                f"/api/v1/announcements/{meetup.id}",
                headers=host.headers,
                json={"tickets_count": op[1]},
            )
        else:
            g = op[1]
            if g not in latest:
                continue
            actor = guests[g] if kind == "cancel" and op[2] else host
            response = await client.post(
                f"/api/v1/bookings/{latest[g]}/{kind}", headers=actor.headers
            )
        outcome = (response.status_code, response.json().get("code"))
        assert outcome in ALLOWED, (op, response.json())
        tickets, counter, recomputed = await seat_state(db, meetup.id)
        assert counter == recomputed <= tickets, op
        assert await waitlist_counter_matches(db, meetup.id), op
