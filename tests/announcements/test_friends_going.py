"""GET /announcements/{id} `friends_going`: the signed-in caller's friends (mutual follows) among
the approved guests, in the guest list's order; null for an anonymous caller."""

from __future__ import annotations

from typing import Any

import httpx

from tests.announcements.helpers import API, approve, book
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory


async def _follow(client: httpx.AsyncClient, who: TestUser, whom: TestUser) -> None:
    response = await client.put(f"/api/v1/users/{whom.id}/follow", headers=who.headers)
    assert response.status_code == 204, response.text


async def _befriend(client: httpx.AsyncClient, a: TestUser, b: TestUser) -> None:
    await _follow(client, a, b)
    await _follow(client, b, a)


async def _going(
    client: httpx.AsyncClient, meetup_id: str, viewer: TestUser | None
) -> list[dict[str, Any]] | None:
    headers = viewer.headers if viewer is not None else {}
    response = await client.get(f"{API}/{meetup_id}", headers=headers)
    assert response.status_code == 200, response.text
    going: list[dict[str, Any]] | None = response.json()["friends_going"]
    return going


async def test_friends_going_lists_only_approved_friends(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create(name="Host")
    me = await users.create(name="Me")
    ann, bob, cid, dan, eve = [
        await users.create(name=name) for name in ("Ann", "Bob", "Cid", "Dan", "Eve")
    ]
    meetup = await create_announcement(client, host, tickets_count=10)
    for friend in (ann, bob, cid):
        await _befriend(client, me, friend)
    await _follow(client, me, dan)  # I follow Dan; Dan does not follow me
    await _follow(client, eve, me)  # Eve follows me; I do not follow Eve

    # Bob is approved first, then Ann; Cid (a friend) stays pending; Dan and Eve are approved.
    bookings = {who.user.name: await book(client, who, meetup["id"]) for who in (ann, bob, cid)}
    bookings |= {who.user.name: await book(client, who, meetup["id"]) for who in (dan, eve)}
    for name in ("Bob", "Ann", "Dan", "Eve"):
        await approve(client, host, bookings[name]["id"])
        clock.advance(minutes=1)

    going = await _going(client, meetup["id"], me)
    assert going == [{"id": str(bob.id), "name": "Bob"}, {"id": str(ann.id), "name": "Ann"}]

    # The pending friend appears once approved.
    await approve(client, host, bookings["Cid"]["id"])
    going = await _going(client, meetup["id"], me)
    assert going is not None
    assert [f["name"] for f in going] == ["Bob", "Ann", "Cid"]

    # A friendship broken from either side takes the friend out.
    unfollow = await client.delete(f"/api/v1/users/{me.id}/follow", headers=ann.headers)
    assert unfollow.status_code == 204
    going = await _going(client, meetup["id"], me)
    assert going is not None
    assert [f["name"] for f in going] == ["Bob", "Cid"]

    # A friend who cancels the seat is no longer going.
    cancel = await client.post(
        f"/api/v1/bookings/{bookings['Bob']['id']}/cancel", headers=bob.headers
    )
    assert cancel.status_code == 200, cancel.text
    going = await _going(client, meetup["id"], me)
    assert going is not None
    assert [f["name"] for f in going] == ["Cid"]


async def test_friends_going_is_null_for_anonymous_and_empty_for_a_stranger(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, ann, bob, stranger = (
        await users.create(),
        await users.create(),
        await users.create(),
        await users.create(),
    )
    meetup = await create_announcement(client, host)
    await _befriend(client, ann, bob)
    await _befriend(client, host, ann)
    await approve(client, host, (await book(client, ann, meetup["id"]))["id"])
    await approve(client, host, (await book(client, bob, meetup["id"]))["id"])

    assert await _going(client, meetup["id"], None) is None
    assert await _going(client, meetup["id"], stranger) == []
    # Each guest sees the other guest (a friend), never themselves; the host sees Ann.
    assert await _going(client, meetup["id"], ann) == [{"id": str(bob.id), "name": bob.user.name}]
    assert await _going(client, meetup["id"], bob) == [{"id": str(ann.id), "name": ann.user.name}]
    assert await _going(client, meetup["id"], host) == [{"id": str(ann.id), "name": ann.user.name}]
