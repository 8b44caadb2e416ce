"""POST /announcements/{id}/cancel and DELETE /announcements/{id}."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from app.core.db import Database
from tests.announcements.helpers import API, approve, book, events, hosted_count
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def test_cancel_cancels_every_active_booking_and_tells_the_guests(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host = await users.create()
    approved, pending, waiting, rejected = [await users.create() for _ in range(4)]
    meetup = await create_announcement(client, host, tickets_count=2)
    approved_booking = await book(client, approved, meetup["id"], seats=2)
    pending_booking = await book(client, pending, meetup["id"], seats=1)
    await approve(client, host, approved_booking["id"])
    waiting_booking = await book(client, waiting, meetup["id"], seats=2, join_waitlist=True)
    rejected_booking = await book(client, rejected, meetup["id"], join_waitlist=True)
    await client.post(f"/api/v1/bookings/{rejected_booking['id']}/reject", headers=host.headers)
    assert await hosted_count(db, host) == 1

    response = await client.post(
        f"{API}/{meetup['id']}/cancel", headers=host.headers, json={"reason": "Projector broke"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "Projector broke")
    assert (body["tickets_left"], body["waitlist_count"], body["guest_list"]) == (2, 0, [])
    for booking, guest, status in (
        (approved_booking, approved, "cancelled"),
        (pending_booking, pending, "cancelled"),
        (waiting_booking, waiting, "cancelled"),
        (rejected_booking, rejected, "rejected"),
    ):
        shown = await client.get(f"/api/v1/bookings/{booking['id']}", headers=guest.headers)
        assert shown.json()["status"] == status
    recorded = await events(db, "announcement_cancelled", meetup["id"])
    assert len(recorded) == 1
    assert recorded[0].payload["reason"] == "Projector broke"
    assert sorted(recorded[0].payload["guest_ids"]) == sorted(
        str(u.id) for u in (approved, pending, waiting)
    )
    assert await hosted_count(db, host) == 0


async def test_cancel_without_a_body(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create()
    meetup = await create_announcement(client, host)
    response = await client.post(f"{API}/{meetup['id']}/cancel", headers=host.headers)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("cancelled", None)


async def test_cancel_twice_or_after_the_start_is_409_announcement_closed(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    meetup = await create_announcement(client, host)
    await client.post(f"{API}/{meetup['id']}/cancel", headers=host.headers)
    again = await client.post(f"{API}/{meetup['id']}/cancel", headers=host.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "announcement_closed"
    started = await create_announcement(client, host, event_time=clock.now + timedelta(hours=1))
    clock.advance(hours=1)
    late = await client.post(f"{API}/{started['id']}/cancel", headers=host.headers)
    assert late.status_code == 409
    assert late.json()["code"] == "announcement_closed"


async def test_only_author_or_admin_may_cancel(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, stranger, admin = await users.create(), await users.create(), await users.admin()
    meetup = await create_announcement(client, host)
    path = f"{API}/{meetup['id']}/cancel"
    assert (await client.post(path)).status_code == 401
    assert (
        await client.post(f"{API}/{uuid.uuid4()}/cancel", headers=host.headers)
    ).status_code == 404
    refused = await client.post(path, headers=stranger.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert (await client.post(path, headers=admin.headers)).status_code == 200


async def test_delete_a_meetup_that_never_had_bookings(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host, fan = await users.create(), await users.create()
    meetup = await create_announcement(client, host)
    await client.put(f"{API}/{meetup['id']}/like", headers=fan.headers)
    await client.put(f"{API}/{meetup['id']}/favorite", headers=fan.headers)
    response = await client.delete(f"{API}/{meetup['id']}", headers=host.headers)
    assert response.status_code == 204
    assert (await client.get(f"{API}/{meetup['id']}")).status_code == 404
    assert (await client.get("/api/v1/users/me/favorites", headers=fan.headers)).json()[
        "total"
    ] == 0
    assert await hosted_count(db, host) == 0
    assert (await client.delete(f"{API}/{meetup['id']}", headers=host.headers)).status_code == 404


async def test_deleting_a_cancelled_meetup_does_not_count_twice(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host = await users.create()
    kept = await create_announcement(client, host)
    meetup = await create_announcement(client, host, title="Other", duration_minutes=30)
    assert await hosted_count(db, host) == 2
    await client.post(f"{API}/{meetup['id']}/cancel", headers=host.headers)
    assert (await client.delete(f"{API}/{meetup['id']}", headers=host.headers)).status_code == 204
    assert await hosted_count(db, host) == 1
    assert (await client.get(f"{API}/{kept['id']}")).status_code == 200


async def test_delete_after_any_booking_is_409_has_bookings(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await create_announcement(client, host)
    booking = await book(client, guest, meetup["id"])
    await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=guest.headers)
    response = await client.delete(f"{API}/{meetup['id']}", headers=host.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "has_bookings"


async def test_only_author_or_admin_may_delete(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, stranger, admin = await users.create(), await users.create(), await users.admin()
    meetup = await create_announcement(client, host)
    path = f"{API}/{meetup['id']}"
    assert (await client.delete(path)).status_code == 401
    refused = await client.delete(path, headers=stranger.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert (await client.delete(path, headers=admin.headers)).status_code == 204
