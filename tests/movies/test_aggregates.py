"""Property: whatever the sequence of follows, reviews, likes and moderation, the running
aggregates (a film's followers_count and rating, a review's likes_count, a user's followers,
following and friends counts) equal what the base tables say.

A seeded random walk of ~200 operations through the HTTP API among six members, a moderator and
two films. One walk is sequential and checks every answer against a model of the world; the
other fires its operations in concurrent batches (the answers then depend on the interleaving,
so it only refuses a 5xx) to let racing changes try to lose an update. Both end by recomputing
every aggregate from the base tables with SQL and reading the stored ones through the API.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.db import Database
from tests.support.factories import TestUser, UserFactory

API = "/api/v1"
MEMBERS = 6
OPERATIONS = 200


@dataclass
class Review:
    id: str
    author: TestUser
    movie_id: str
    score: int
    hidden: bool = False
    likes: set[uuid.UUID] = field(default_factory=set)


@dataclass
class World:
    """What the API should hold after the operations so far (the sequential walk's model)."""

    movie_follows: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    follows: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    reviews: dict[str, Review] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)  # deleted reviews' ids

    def review_of(self, author: TestUser, movie_id: str) -> Review | None:
        return next(
            (
                r
                for r in self.reviews.values()
                if r.author.id == author.id and r.movie_id == movie_id
            ),
            None,
        )


class Walk:
    """Draws random operations; `step()` performs one and, when `world` is given, checks the
    answer against it and updates it."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        rng: random.Random,
        members: list[TestUser],
        moderator: TestUser,
        movies: list[str],
        world: World | None,
    ) -> None:
        self.client, self.rng, self.world = client, rng, world
        self.members, self.moderator, self.movies = members, moderator, movies
        self.actors = [*members, moderator]  # the moderator also follows, reviews and likes
        self.review_ids: list[str] = []  # every review id ever created (concurrent walk)
        self.statuses: list[tuple[str, int]] = []

    async def _call(
        self, name: str, method: str, url: str, who: TestUser, **kw: Any
    ) -> httpx.Response:
        response = await self.client.request(method, API + url, headers=who.headers, **kw)
        self.statuses.append((name, response.status_code))
        assert response.status_code < 500, (name, response.text)
        return response

    def _expect(self, response: httpx.Response, status: int, code: str | None = None) -> None:
        if self.world is None:
            return
        assert response.status_code == status, (response.request.url, response.text)
        if code is not None:
            assert response.json()["code"] == code

    def _any_review_id(self) -> str | None:
        if self.world is not None:
            pool = list(self.world.reviews) or self.world.gone
            if self.world.gone and self.rng.random() < 0.05:
                pool = self.world.gone  # now and then, one that was deleted
        else:
            pool = self.review_ids
        return self.rng.choice(pool) if pool else None

    async def step(self) -> None:
        operation = self.rng.choices(
            [
                self.follow_movie,
                self.create_review,
                self.patch_review,
                self.delete_review,
                self.like,
                self.moderate,
                self.follow_user,
            ],
            weights=[3, 3, 2, 1, 5, 2, 4],
        )[0]
        await operation()

    async def follow_movie(self) -> None:
        who, movie_id = self.rng.choice(self.actors), self.rng.choice(self.movies)
        if self.rng.random() < 0.6:
            response = await self._call("follow movie", "PUT", f"/movies/{movie_id}/follow", who)
            if self.world is not None:
                self.world.movie_follows.add((who.id, movie_id))
        else:
            response = await self._call(
                "unfollow movie", "DELETE", f"/movies/{movie_id}/follow", who
            )
            if self.world is not None:
                self.world.movie_follows.discard((who.id, movie_id))
        self._expect(response, 204)

    async def create_review(self) -> None:
        who, movie_id = self.rng.choice(self.actors), self.rng.choice(self.movies)
        body: dict[str, Any] = {"score": self.rng.randint(1, 10)}
        if self.rng.random() < 0.5:
            body["text"] = f"Thoughts {self.rng.randint(0, 999)}"
        response = await self._call(
            "create review", "POST", f"/movies/{movie_id}/reviews", who, json=body
        )
        if response.status_code == 201:
            self.review_ids.append(response.json()["id"])
        if self.world is None:
            return
        if self.world.review_of(who, movie_id) is not None:
            self._expect(response, 409, "already_reviewed")
        else:
            self._expect(response, 201)
            review_id = response.json()["id"]
            self.world.reviews[review_id] = Review(review_id, who, movie_id, body["score"])

    def _author_or_not(self, review_id: str) -> TestUser:
        if self.world is not None and review_id in self.world.reviews:
            author = self.world.reviews[review_id].author
            if self.rng.random() < 0.85:
                return author
        return self.rng.choice(self.actors)

    async def patch_review(self) -> None:
        if (review_id := self._any_review_id()) is None:
            return await self.create_review()
        who = self._author_or_not(review_id)
        body: dict[str, Any] = {}
        if self.rng.random() < 0.7:
            body["score"] = self.rng.randint(1, 10)
        if self.rng.random() < 0.4:
            body["text"] = self.rng.choice([None, "Changed my mind."])
        response = await self._call(
            "patch review", "PATCH", f"/movie-reviews/{review_id}", who, json=body
        )
        if self.world is None:
            return
        review = self.world.reviews.get(review_id)
        if review is None:
            self._expect(response, 404)
        elif review.author.id != who.id:
            self._expect(response, 403, "forbidden")
        else:
            self._expect(response, 200)
            review.score = body.get("score", review.score)
            assert response.json()["score"] == review.score

    async def delete_review(self) -> None:
        if (review_id := self._any_review_id()) is None:
            return await self.create_review()
        who = self._author_or_not(review_id)
        response = await self._call("delete review", "DELETE", f"/movie-reviews/{review_id}", who)
        if self.world is None:
            return
        review = self.world.reviews.get(review_id)
        if review is None:
            self._expect(response, 404)
        elif review.author.id != who.id:
            self._expect(response, 403, "forbidden")
        else:
            self._expect(response, 204)
            del self.world.reviews[review_id]
            self.world.gone.append(review_id)

    async def like(self) -> None:
        if (review_id := self._any_review_id()) is None:
            return await self.create_review()
        who = self.rng.choice(self.actors)
        liking = self.rng.random() < 0.65
        response = await self._call(
            "like" if liking else "unlike",
            "PUT" if liking else "DELETE",
            f"/movie-reviews/{review_id}/like",
            who,
        )
        if self.world is None:
            return
        review = self.world.reviews.get(review_id)
        if review is None or review.hidden:
            self._expect(response, 404, "not_found")
        elif review.author.id == who.id:
            self._expect(response, 400, "cannot_like_own")
        else:
            self._expect(response, 204)
            if liking:
                review.likes.add(who.id)
            else:
                review.likes.discard(who.id)

    async def moderate(self) -> None:
        if (review_id := self._any_review_id()) is None:
            return await self.create_review()
        hiding = self.rng.random() < 0.55
        who = self.moderator if self.rng.random() < 0.9 else self.rng.choice(self.members)
        response = await self._call(
            "hide" if hiding else "unhide",
            "POST",
            f"/movie-reviews/{review_id}/{'hide' if hiding else 'unhide'}",
            who,
        )
        if self.world is None:
            return
        review = self.world.reviews.get(review_id)
        if who is not self.moderator:
            self._expect(response, 403, "forbidden")
        elif review is None:
            self._expect(response, 404)
        else:
            self._expect(response, 200)
            review.hidden = hiding
            assert response.json()["hidden"] is hiding

    async def follow_user(self) -> None:
        who, whom = self.rng.sample(self.actors, 2)
        following = self.rng.random() < 0.6
        response = await self._call(
            "follow user" if following else "unfollow user",
            "PUT" if following else "DELETE",
            f"/users/{whom.id}/follow",
            who,
        )
        self._expect(response, 204)
        if self.world is not None:
            if following:
                self.world.follows.add((who.id, whom.id))
            else:
                self.world.follows.discard((who.id, whom.id))


async def _counts(db: Database, sql: str) -> dict[Any, tuple[int, ...]]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(text(sql))).all()
    return {
        str(row[0]) if isinstance(row[0], uuid.UUID) else row[0]: tuple(row[1:]) for row in rows
    }


async def _assert_aggregates_true(
    client: httpx.AsyncClient, db: Database, actors: list[TestUser], movies: list[str]
) -> None:
    """Recompute every aggregate from the base tables and compare the stored ones (read through
    the API; a hidden review's likes_count, which no list shows, from its column)."""
    followers_of_movie = await _counts(
        db, "SELECT movie_id, count(*) FROM movie_follow GROUP BY movie_id"
    )
    ratings = await _counts(
        db,
        "SELECT movie_id, sum(score), count(*) FROM movie_review WHERE NOT hidden"
        " GROUP BY movie_id",
    )
    stored_sums = await _counts(db, "SELECT id, rating_sum, rating_count FROM movie")
    likes = await _counts(
        db, "SELECT review_id, count(*) FROM movie_review_like GROUP BY review_id"
    )
    stored_likes = await _counts(db, "SELECT id, likes_count, hidden FROM movie_review")
    followers = await _counts(db, "SELECT followee_id, count(*) FROM follow GROUP BY followee_id")
    following = await _counts(db, "SELECT follower_id, count(*) FROM follow GROUP BY follower_id")
    friends = await _counts(
        db,
        "SELECT f.follower_id, count(*) FROM follow f JOIN follow r"
        " ON r.follower_id = f.followee_id AND r.followee_id = f.follower_id"
        " GROUP BY f.follower_id",
    )

    for movie_id in movies:
        film = (await client.get(f"{API}/movies/{movie_id}")).json()
        assert film["followers_count"] == followers_of_movie.get(movie_id, (0,))[0], movie_id
        total, count = ratings.get(movie_id, (0, 0))
        assert stored_sums[movie_id] == (total, count), movie_id
        average = round(total / count, 2) if count else None
        assert film["rating"] == {"average": average, "count": count}, movie_id

        listed = (
            await client.get(f"{API}/movies/{movie_id}/reviews", params={"limit": 100})
        ).json()
        visible = {r for r, (_, hidden) in stored_likes.items() if not hidden}
        mine = {r["id"] for r in listed["items"]}
        assert listed["total"] == count == len(mine)
        assert mine <= visible
        for review in listed["items"]:
            assert review["likes_count"] == likes.get(review["id"], (0,))[0], review["id"]
            assert review["hidden"] is False
    for review_id, (likes_count, _) in stored_likes.items():
        assert likes_count == likes.get(review_id, (0,))[0], review_id

    for actor in actors:
        uid = str(actor.id)
        profile = (await client.get(f"{API}/users/{uid}")).json()
        truth = {
            "followers_count": followers.get(uid, (0,))[0],
            "following_count": following.get(uid, (0,))[0],
            "friends_count": friends.get(uid, (0,))[0],
        }
        assert {name: profile[name] for name in truth} == truth, uid
        listed = (await client.get(f"{API}/users/{uid}/friends", params={"limit": 100})).json()
        assert listed["total"] == truth["friends_count"], uid


async def _cast(
    client: httpx.AsyncClient, users: UserFactory
) -> tuple[list[TestUser], TestUser, list[str]]:
    members = [await users.create() for _ in range(MEMBERS)]
    moderator = await users.moderator()
    movies = []
    for title in ("Stalker", "Solaris"):
        response = await client.post(
            f"{API}/movies", headers=moderator.headers, json={"title": title}
        )
        assert response.status_code == 201
        movies.append(response.json()["id"])
    return members, moderator, movies


async def _assert_world(db: Database, world: World) -> None:
    """The base tables hold what the model says: the API did what it answered."""
    async with db.sessionmaker() as session:
        movie_follows = {
            (row[0], str(row[1]))
            for row in await session.execute(text("SELECT user_id, movie_id FROM movie_follow"))
        }
        follows = set(
            (row[0], row[1])
            for row in await session.execute(text("SELECT follower_id, followee_id FROM follow"))
        )
        reviews = {
            str(row[0]): (row[1], row[2])
            for row in await session.execute(text("SELECT id, score, hidden FROM movie_review"))
        }
        review_likes = {
            (str(row[0]), row[1])
            for row in await session.execute(
                text("SELECT review_id, user_id FROM movie_review_like")
            )
        }
    assert movie_follows == world.movie_follows
    assert follows == world.follows
    assert reviews == {rid: (r.score, r.hidden) for rid, r in world.reviews.items()}
    assert review_likes == {(rid, uid) for rid, r in world.reviews.items() for uid in r.likes}


@pytest.mark.parametrize("seed", [7, 2024])
async def test_random_sequential_walk_keeps_every_aggregate_true(
    seed: int, client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    members, moderator, movies = await _cast(client, users)
    world = World()
    walk = Walk(client, random.Random(seed), members, moderator, movies, world)
    for i in range(OPERATIONS):
        await walk.step()
        if i % 50 == 49:
            await _assert_aggregates_true(client, db, walk.actors, movies)
    await _assert_world(db, world)
    await _assert_aggregates_true(client, db, walk.actors, movies)
    # The walk did reach the interesting cases.
    seen = {status for status in walk.statuses}
    for expected in (("like", 204), ("hide", 200), ("unhide", 200), ("create review", 409)):
        assert expected in seen, expected
    assert world.reviews and world.follows and world.movie_follows


@pytest.mark.parametrize("seed", [11, 99])
async def test_random_concurrent_batches_keep_every_aggregate_true(
    seed: int, client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    members, moderator, movies = await _cast(client, users)
    rng = random.Random(seed)
    walk = Walk(client, rng, members, moderator, movies, world=None)
    for _ in range(5):  # some reviews to act on from the first batch
        await walk.create_review()
    done = 0
    while done < OPERATIONS:
        batch = rng.randint(2, 8)
        await asyncio.gather(*(walk.step() for _ in range(batch)))
        done += batch
    await _assert_aggregates_true(client, db, walk.actors, movies)
    assert {status for _, status in walk.statuses} >= {200, 201, 204}
