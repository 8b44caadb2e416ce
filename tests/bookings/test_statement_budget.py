"""The hot paths send few statements: counted at the engine, BEGIN and COMMIT included.

A booking is BEGIN, the caller's session check, the facts, the write, COMMIT; an
`Idempotency-Key` adds the stored outcome; a decision is the same shape. These budgets are what
`make bench` measures as statements per request; a change that adds a round trip fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import Database
from tests.bookings.conftest import MakeAnnouncement
from tests.support.factories import UserFactory


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement sent while inside, as text: BEGIN, each execute, COMMIT/ROLLBACK."""
    sent: list[str] = []

    def on_execute(*args: Any) -> None:
        sent.append(args[2])

    def on(name: str) -> Any:
        return lambda *args: sent.append(name)

    target = engine.sync_engine
    listeners = [
        ("before_cursor_execute", on_execute),
        ("begin", on("BEGIN")),
        ("commit", on("COMMIT")),
        ("rollback", on("ROLLBACK")),
    ]
    for name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield sent
    finally:
        for name, listener in listeners:
            event.remove(target, name, listener)


async def test_a_booking_is_five_statements_and_a_keyed_one_six(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest, other = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host)
    second = await make_announcement(
        host, event_time=meetup.event_time + (meetup.ends_at - meetup.event_time) * 2
    )
    url = f"/api/v1/announcements/{meetup.id}/bookings"

    with counted(db.engine) as plain:
        response = await client.post(url, headers=guest.headers, json={"seats": 1})
    assert response.status_code == 201
    assert len(plain) == 5, plain

    with counted(db.engine) as keyed:
        response = await client.post(
            f"/api/v1/announcements/{second.id}/bookings",
            headers={**guest.headers, "Idempotency-Key": "k1"},
            json={"seats": 1},
        )
    assert response.status_code == 201
    assert len(keyed) == 6, keyed

    with counted(db.engine) as refused:
        response = await client.post(url, headers=other.headers, json={"seats": 9})
    assert (response.status_code, response.json()["code"]) == (409, "no_seats")
    assert len(refused) == 5, refused


async def test_a_decision_is_five_statements(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    booked = await client.post(
        f"/api/v1/announcements/{meetup.id}/bookings", headers=guest.headers, json={}
    )
    booking_id = booked.json()["id"]

    with counted(db.engine) as approve:
        response = await client.post(f"/api/v1/bookings/{booking_id}/approve", headers=host.headers)
    assert response.json()["status"] == "approved"
    assert len(approve) == 5, approve

    with counted(db.engine) as cancel:
        response = await client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=guest.headers)
    assert response.json()["status"] == "cancelled"
    assert len(cancel) == 5, cancel  # nobody waits: the waitlist is not even read
