"""Likes and favorites: idempotent toggles, counters in step, the caller's favorites list."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.announcements import Announcement, AnnouncementLike
from tests.announcements.helpers import API
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def _likes(client: httpx.AsyncClient, announcement_id: str) -> int:
    return (await client.get(f"{API}/{announcement_id}")).json()["likes_count"]


async def test_like_and_unlike_are_idempotent(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await create_announcement(client, host)
    modified = meetup["modified"]
    path = f"{API}/{meetup['id']}/like"
    for _ in range(2):
        assert (await client.put(path, headers=ann.headers)).status_code == 204
    assert (await client.put(path, headers=bob.headers)).status_code == 204
    assert await _likes(client, meetup["id"]) == 2
    for _ in range(2):
        assert (await client.delete(path, headers=ann.headers)).status_code == 204
    assert await _likes(client, meetup["id"]) == 1
    # A like is not a change of the meetup.
    assert (await client.get(f"{API}/{meetup['id']}")).json()["modified"] == modified


async def test_racing_likes_keep_the_counter_equal_to_the_rows(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host = await users.create()
    fans = [await users.create() for _ in range(5)]
    meetup = await create_announcement(client, host)
    path = f"{API}/{meetup['id']}/like"
    responses = await asyncio.gather(
        *(client.put(path, headers=fan.headers) for fan in fans for _ in range(2))
    )
    assert {r.status_code for r in responses} == {204}
    async with db.sessionmaker() as session:
        rows = await session.scalar(select(func.count()).select_from(AnnouncementLike))
        counter = await session.scalar(
            select(Announcement.likes_count).where(Announcement.id == uuid.UUID(meetup["id"]))
        )
    assert rows == counter == 5


async def test_likes_and_favorites_need_a_user_and_a_meetup(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    fan = await users.create()
    meetup = await create_announcement(client, await users.create())
    for kind in ("like", "favorite"):
        for method in ("PUT", "DELETE"):
            anonymous = await client.request(method, f"{API}/{meetup['id']}/{kind}")
            assert anonymous.status_code == 401
            unknown = await client.request(
                method, f"{API}/{uuid.uuid4()}/{kind}", headers=fan.headers
            )
            assert unknown.status_code == 404


async def test_favorites_are_listed_to_their_owner_newest_first(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host, fan, other = await users.create(), await users.create(), await users.create()
    first = await create_announcement(client, host, event_time=clock.now + timedelta(days=1))
    second = await create_announcement(client, host, event_time=clock.now + timedelta(days=2))
    third = await create_announcement(client, host, event_time=clock.now + timedelta(days=3))
    for meetup in (second, first, third):
        for _ in range(2):
            response = await client.put(f"{API}/{meetup['id']}/favorite", headers=fan.headers)
            assert response.status_code == 204
        clock.advance(seconds=1)
    await client.put(f"{API}/{first['id']}/favorite", headers=other.headers)
    await client.delete(f"{API}/{third['id']}/favorite", headers=fan.headers)
    await client.delete(f"{API}/{third['id']}/favorite", headers=fan.headers)
    await client.post(f"{API}/{second['id']}/cancel", headers=host.headers)

    listed = (await client.get("/api/v1/users/me/favorites", headers=fan.headers)).json()
    assert listed["total"] == 2
    assert [item["id"] for item in listed["items"]] == [first["id"], second["id"]]
    assert listed["items"][1]["status"] == "cancelled"  # favorites keep every status
    page = (
        await client.get("/api/v1/users/me/favorites?limit=1&offset=1", headers=fan.headers)
    ).json()
    assert (page["total"], [i["id"] for i in page["items"]]) == (2, [second["id"]])
    assert (await client.get("/api/v1/users/me/favorites")).status_code == 401
