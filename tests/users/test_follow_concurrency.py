"""Mutual follows at the same moment, through the real server with two worker processes: no
deadlock (the two counter rows are locked in one order), and the counters equal the rows."""

from __future__ import annotations

import asyncio
import random

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.users import Follow, User
from tests.support.factories import TestUser, UserFactory

RING = 12  # user i and user i+1 follow each other: every user is in two pairs
ROUNDS = ("PUT", "DELETE", "PUT", "mixed", "DELETE", "mixed", "PUT")


async def test_simultaneous_mutual_follows_never_deadlock_and_keep_counts_true(
    live_server: str, users: UserFactory, db: Database
) -> None:
    ring: list[TestUser] = [await users.create() for _ in range(RING)]
    pairs = [(ring[i], ring[(i + 1) % RING]) for i in range(RING)]
    chance = random.Random(13)
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=live_server, timeout=30, limits=limits) as http:

        def send(method: str, who: TestUser, whom: TestUser) -> asyncio.Future[httpx.Response]:
            return asyncio.ensure_future(
                http.request(method, f"/api/v1/users/{whom.id}/follow", headers=who.headers)
            )

        for kind in ROUNDS:
            requests = []
            for a, b in pairs:
                for who, whom in ((a, b), (b, a)):
                    method = kind if kind != "mixed" else chance.choice(("PUT", "DELETE"))
                    requests.append(send(method, who, whom))
            responses = await asyncio.gather(*requests)
            statuses += [r.status_code for r in responses]

    assert len(statuses) == len(ROUNDS) * RING * 2
    assert set(statuses) == {204}, sorted(set(statuses))
    async with db.sessionmaker() as session:
        for member in ring:
            followers = await session.scalar(
                select(func.count()).select_from(Follow).where(Follow.followee_id == member.id)
            )
            following = await session.scalar(
                select(func.count()).select_from(Follow).where(Follow.follower_id == member.id)
            )
            counters = (
                await session.execute(
                    select(User.followers_count, User.following_count).where(User.id == member.id)
                )
            ).one()
            assert tuple(counters) == (followers, following), member.id
        # The last full round followed: every pair follows each other.
        assert await session.scalar(select(func.count()).select_from(Follow)) == 2 * RING
