"""Friends are mutual follows: `friends_count` on the public profile and GET /users/{id}/friends,
kept true by the follow that makes (or breaks) the pair, even when both follow at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory

API = "/api/v1/users"


async def _follow(client: httpx.AsyncClient, who: TestUser, whom: TestUser) -> None:
    response = await client.put(f"{API}/{whom.id}/follow", headers=who.headers)
    assert response.status_code == 204, response.text


async def _unfollow(client: httpx.AsyncClient, who: TestUser, whom: TestUser) -> None:
    response = await client.delete(f"{API}/{whom.id}/follow", headers=who.headers)
    assert response.status_code == 204, response.text


async def _profile(client: httpx.AsyncClient, user: TestUser) -> dict[str, Any]:
    response = await client.get(f"{API}/{user.id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _counts(client: httpx.AsyncClient, user: TestUser) -> tuple[int, int, int]:
    """(friends, followers, following) of the public profile."""
    body = await _profile(client, user)
    return body["friends_count"], body["followers_count"], body["following_count"]


async def _friends(client: httpx.AsyncClient, user: TestUser, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/{user.id}/friends", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _friend_ids(client: httpx.AsyncClient, user: TestUser) -> list[str]:
    return [friend["id"] for friend in (await _friends(client, user))["items"]]


async def test_a_one_way_follow_is_not_a_friendship_the_mutual_one_is(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann, bob = await users.create(name="Ann"), await users.create(name="Bob")

    await _follow(client, ann, bob)
    assert await _counts(client, ann) == (0, 0, 1)
    assert await _counts(client, bob) == (0, 1, 0)
    assert await _friend_ids(client, ann) == []
    assert await _friend_ids(client, bob) == []

    await _follow(client, bob, ann)  # now mutual
    assert await _counts(client, ann) == (1, 1, 1)
    assert await _counts(client, bob) == (1, 1, 1)
    ann_friends = await _friends(client, ann)
    assert ann_friends["items"] == [await _profile(client, bob)]
    assert ann_friends["total"] == 1
    assert await _friend_ids(client, bob) == [str(ann.id)]

    # Following again, either way, changes nothing.
    await _follow(client, ann, bob)
    await _follow(client, bob, ann)
    assert await _counts(client, ann) == (1, 1, 1)
    assert await _counts(client, bob) == (1, 1, 1)

    await _unfollow(client, ann, bob)  # breaks the pair; Bob still follows Ann
    assert await _counts(client, ann) == (0, 1, 0)
    assert await _counts(client, bob) == (0, 0, 1)
    assert await _friend_ids(client, ann) == []
    assert await _friend_ids(client, bob) == []

    await _unfollow(client, ann, bob)  # idempotent
    assert await _counts(client, ann) == (0, 1, 0)
    assert await _counts(client, bob) == (0, 0, 1)

    await _follow(client, ann, bob)  # mutual again, then broken from the other side
    assert (await _counts(client, ann))[0] == (await _counts(client, bob))[0] == 1
    await _unfollow(client, bob, ann)
    await _unfollow(client, bob, ann)
    assert await _counts(client, ann) == (0, 0, 1)
    assert await _counts(client, bob) == (0, 1, 0)


async def test_friends_lists_exactly_the_mutual_follows_newest_friendship_first(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create(name="Ann")
    bob, cid, dan, eve = [await users.create(name=n) for n in ("Bob", "Cid", "Dan", "Eve")]
    await _follow(client, ann, bob)
    clock.advance(minutes=1)
    await _follow(client, ann, cid)
    clock.advance(minutes=1)
    await _follow(client, cid, ann)  # Ann and Cid: friends since minute 2
    clock.advance(minutes=1)
    await _follow(client, bob, ann)  # Ann and Bob: friends since minute 3
    await _follow(client, ann, dan)  # one way
    await _follow(client, eve, ann)  # one way
    await _follow(client, bob, cid)  # one way, not involving Ann

    listed = await _friends(client, ann)
    assert [f["name"] for f in listed["items"]] == ["Bob", "Cid"]
    assert (listed["total"], listed["limit"], listed["offset"]) == (2, 20, 0)
    assert listed["items"][0] == await _profile(client, bob)
    assert (await _profile(client, ann))["friends_count"] == 2
    page = await _friends(client, ann, limit=1, offset=1)
    assert ([f["name"] for f in page["items"]], page["total"]) == (["Cid"], 2)

    assert [f["name"] for f in (await _friends(client, bob))["items"]] == ["Ann"]
    assert [f["name"] for f in (await _friends(client, cid))["items"]] == ["Ann"]
    for loner in (dan, eve):
        assert (await _friends(client, loner))["items"] == []
        assert (await _profile(client, loner))["friends_count"] == 0

    missing = await client.get(f"{API}/{uuid.uuid4()}/friends")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def _assert_pairs_true(
    client: httpx.AsyncClient, pairs: list[tuple[TestUser, TestUser]], mutual: bool, label: str
) -> None:
    everyone = {user.id: user for pair in pairs for user in pair}
    friends_of: dict[uuid.UUID, set[str]] = {uid: set() for uid in everyone}
    if mutual:
        for a, b in pairs:
            friends_of[a.id].add(str(b.id))
            friends_of[b.id].add(str(a.id))
    for uid, user in everyone.items():
        expected = len(friends_of[uid])
        assert await _counts(client, user) == (expected, expected, expected), (label, uid)
        assert set(await _friend_ids(client, user)) == friends_of[uid], (label, uid)


async def test_two_users_following_each_other_at_once_become_friends_exactly_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    """A->B and B->A at the same moment: each transaction must see the other's committed follow
    (the reverse is read after both rows are locked), else both miss the friendship, or both count
    it. A ring of four, so every user is in two pairs racing at once."""
    ring = [await users.create() for _ in range(4)]
    pairs = [(ring[i], ring[(i + 1) % len(ring)]) for i in range(len(ring))]

    async def all_at_once(method: str) -> None:
        responses = await asyncio.gather(
            *(
                client.request(method, f"{API}/{whom.id}/follow", headers=who.headers)
                for a, b in pairs
                for who, whom in ((a, b), (b, a))
            )
        )
        assert [r.status_code for r in responses] == [204] * len(responses), [
            r.text for r in responses if r.status_code != 204
        ]

    for round_ in range(20):
        await all_at_once("PUT")
        await _assert_pairs_true(client, pairs, mutual=True, label=f"follow {round_}")
        await all_at_once("DELETE")
        await _assert_pairs_true(client, pairs, mutual=False, label=f"unfollow {round_}")


async def test_a_follow_and_the_reverse_unfollow_at_once_leave_no_friendship(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    """B follows A; then A follows B while B unfollows A, at the same moment: whichever commits
    first, the end state is one way (A->B), so no one has a friend."""
    ann, bob = await users.create(), await users.create()
    for round_ in range(20):
        await _follow(client, bob, ann)
        responses = await asyncio.gather(
            client.put(f"{API}/{bob.id}/follow", headers=ann.headers),
            client.delete(f"{API}/{ann.id}/follow", headers=bob.headers),
        )
        assert [r.status_code for r in responses] == [204, 204]
        assert await _counts(client, ann) == (0, 0, 1), round_
        assert await _counts(client, bob) == (0, 1, 0), round_
        assert await _friend_ids(client, ann) == []
        await _unfollow(client, ann, bob)
        assert await _counts(client, ann) == (0, 0, 0), round_
        assert await _counts(client, bob) == (0, 0, 0), round_
