"""PATCH /announcements/{id}: who may change what, when, and what follows from a change."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from app.core import clock
from app.core.db import Database
from app.models.bookings import Booking
from tests.announcements.helpers import API, approve, book, events
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def test_author_changes_fields_and_guests_are_told_once(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    host, pending, approved, other = (
        await users.create(),
        await users.create(),
        await users.create(),
        await users.create(),
    )
    meetup = await create_announcement(client, host, tickets_count=3, location="Old place")
    await book(client, pending, meetup["id"])
    approved_booking = await book(client, approved, meetup["id"])
    await approve(client, host, approved_booking["id"])
    rejected = await book(client, other, meetup["id"])
    await client.post(f"/api/v1/bookings/{rejected['id']}/reject", headers=host.headers)

    new_time = clock.now + timedelta(days=4)
    response = await client.patch(
        f"{API}/{meetup['id']}",
        headers=host.headers,
        json={
            "location": "New place",
            "event_time": new_time.isoformat(),
            "title": meetup["title"],  # unchanged: not reported
            "is_free": False,
            "price": "4.5",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["location"], body["price"], body["is_free"]) == ("New place", "4.50", False)
    recorded = await events(db, "announcement_updated", meetup["id"])
    assert len(recorded) == 1
    payload = recorded[0].payload
    assert payload["changed"] == {
        "location": {"old": "Old place", "new": "New place"},
        "event_time": {"old": meetup["event_time"].replace("Z", "+00:00"), "new": new_time.isoformat()},
        "is_free": {"old": True, "new": False},
        "price": {"old": None, "new": "4.50"},
    }  # fmt: skip
    assert sorted(payload["guest_ids"]) == sorted([str(pending.id), str(approved.id)])
    assert recorded[0].actor_id == host.id


async def test_nothing_changed_records_no_event(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host = await users.create()
    meetup = await create_announcement(client, host)
    response = await client.patch(
        f"{API}/{meetup['id']}", headers=host.headers, json={"title": meetup["title"]}
    )
    assert response.status_code == 200
    assert await events(db, "announcement_updated", meetup["id"]) == []


async def test_new_time_or_duration_moves_the_bookings_copies(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await create_announcement(client, host, duration_minutes=100)
    booking = await book(client, guest, meetup["id"])
    new_time = clock.now + timedelta(days=6)
    await client.patch(
        f"{API}/{meetup['id']}",
        headers=host.headers,
        json={"event_time": new_time.isoformat(), "duration_minutes": 150},
    )
    async with db.sessionmaker() as session:
        row = await session.get(Booking, uuid.UUID(booking["id"]))
        assert row is not None
        assert (row.event_time, row.ends_at) == (new_time, new_time + timedelta(minutes=150))
    # ...so the guest's overlap check sees the new time.
    overlapping = await create_announcement(
        client, await users.create(), event_time=new_time + timedelta(minutes=140)
    )
    clash = await client.post(f"{API}/{overlapping['id']}/bookings", headers=guest.headers, json={})
    assert clash.json()["code"] == "time_conflict"


async def test_only_author_or_admin_may_change(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, stranger, admin = await users.create(), await users.create(), await users.admin()
    meetup = await create_announcement(client, host)
    refused = await client.patch(
        f"{API}/{meetup['id']}", headers=stranger.headers, json={"title": "Mine now"}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    allowed = await client.patch(
        f"{API}/{meetup['id']}", headers=admin.headers, json={"title": "Moderated title"}
    )
    assert allowed.status_code == 200
    assert allowed.json()["title"] == "Moderated title"


async def test_error_order_401_404_422_403(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host, stranger = await users.create(), await users.create()
    meetup = await create_announcement(client, host)
    path = f"{API}/{meetup['id']}"
    assert (await client.patch(path, json={"title": "x"})).status_code == 401
    unknown = await client.patch(f"{API}/{uuid.uuid4()}", headers=host.headers, json={"x": 1})
    assert unknown.status_code == 404
    invalid = await client.patch(path, headers=stranger.headers, json={"tickets_count": 0})
    assert invalid.status_code == 422
    past = (clock.now - timedelta(hours=1)).isoformat()
    too_early = await client.patch(path, headers=stranger.headers, json={"event_time": past})
    assert too_early.status_code == 422
    assert too_early.json()["code"] == "event_time_not_in_future"


async def test_patch_validation(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create()
    meetup = await create_announcement(client, host)
    path = f"{API}/{meetup['id']}"
    naive_future = (clock.now() + timedelta(days=30)).replace(tzinfo=None).isoformat()
    for body in (
        {"timezone": "Atlantis/Capital"},
        {"event_time": naive_future},
        {"title": None},
        {"tickets_count": None},
        {"movie_id": str(uuid.uuid4()), "movie_title": "Both"},
        {"price": "5"},  # still free
        {"is_free": False},  # paid without a price
    ):
        response = await client.patch(path, headers=host.headers, json=body)
        assert response.status_code == 422, body
    unknown_movie = await client.patch(
        path, headers=host.headers, json={"movie_id": str(uuid.uuid4())}
    )
    assert unknown_movie.json()["code"] == "unknown_movie"


async def test_switching_between_catalog_and_free_text_film(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, host = await users.moderator(), await users.create()
    movie = (
        await client.post(
            "/api/v1/movies", headers=moderator.headers, json={"title": "Mirror", "year": 1975}
        )
    ).json()
    meetup = await create_announcement(client, host)
    path = f"{API}/{meetup['id']}"
    linked = await client.patch(path, headers=host.headers, json={"movie_id": movie["id"]})
    assert linked.json()["movie"] == {"id": movie["id"], "title": "Mirror"}
    unlinked = await client.patch(path, headers=host.headers, json={"movie_id": None})
    assert unlinked.json()["movie"] == {"id": None, "title": "Mirror"}
    text = await client.patch(path, headers=host.headers, json={"movie_title": "Nostalghia"})
    assert text.json()["movie"] == {"id": None, "title": "Nostalghia"}


async def test_closed_meetups_cannot_change(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    cancelled = await create_announcement(client, host)
    await client.post(f"{API}/{cancelled['id']}/cancel", headers=host.headers)
    started = await create_announcement(
        client, host, event_time=clock.now + timedelta(hours=1), duration_minutes=60
    )
    finished = await create_announcement(
        client, host, event_time=clock.now + timedelta(minutes=30), duration_minutes=20
    )
    clock.advance(minutes=70)
    for meetup in (cancelled, started, finished):
        response = await client.patch(
            f"{API}/{meetup['id']}", headers=host.headers, json={"title": "Too late"}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "announcement_closed"


async def test_capacity_cannot_drop_below_approved_seats(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await create_announcement(client, host, tickets_count=5, approval="auto")
    await book(client, guest, meetup["id"], seats=3)
    path = f"{API}/{meetup['id']}"
    refused = await client.patch(path, headers=host.headers, json={"tickets_count": 2})
    assert refused.status_code == 409
    assert refused.json()["code"] == "capacity_below_booked"
    exact = await client.patch(path, headers=host.headers, json={"tickets_count": 3})
    assert (exact.json()["tickets_left"], exact.json()["status"]) == (0, "full")


async def test_more_tickets_promote_the_waitlist(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host, first, second, third = [await users.create() for _ in range(4)]
    meetup = await create_announcement(client, host, tickets_count=1, approval="auto")
    await book(client, first, meetup["id"])
    waiting = await book(client, second, meetup["id"], join_waitlist=True)
    big = await book(client, third, meetup["id"], join_waitlist=True, seats=3)
    response = await client.patch(
        f"{API}/{meetup['id']}", headers=host.headers, json={"tickets_count": 3}
    )
    body = response.json()
    assert (body["tickets_left"], body["waitlist_count"]) == (1, 1)
    assert [g["user_id"] for g in body["guest_list"]] == [str(first.id), str(second.id)]
    promoted = await client.get(f"/api/v1/bookings/{waiting['id']}", headers=second.headers)
    assert promoted.json()["status"] == "approved"
    still = await client.get(f"/api/v1/bookings/{big['id']}", headers=third.headers)
    assert still.json()["status"] == "waitlisted"
    assert len(await events(db, "waitlist_promoted", meetup["id"])) == 1


async def test_moving_onto_another_own_meetup_is_409_duplicate(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    first = await create_announcement(client, host, event_time=clock.now + timedelta(days=1))
    second = await create_announcement(client, host, event_time=clock.now + timedelta(days=2))
    response = await client.patch(
        f"{API}/{second['id']}", headers=host.headers, json={"event_time": first["event_time"]}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_announcement"
