"""Renaming a movie while meetups are re-pointed to it, under real parallelism (a uvicorn with 2
worker processes): the rename rewrites the meetups' `movie_title`, the re-point checks the movie
row (its foreign key) and copies its title. Both take the movie's lock before the meetups', so no
deadlock (a 500) and no meetup left showing a title the movie no longer has. New meetups of
those movies are created in the same race: they copy the title too."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.core import clock
from app.core.db import Database
from app.models.announcements import Announcement
from app.models.movies import Movie
from tests.support.announcements import announcement_body
from tests.support.factories import UserFactory

MOVIES = 3
MEETUPS = 8
ROUNDS = 4


async def test_racing_renames_and_re_points_never_deadlock(
    live_server: str, users: UserFactory, db: Database
) -> None:
    moderator, host = await users.moderator(), await users.create()
    async with httpx.AsyncClient(
        base_url=live_server, timeout=60, limits=httpx.Limits(max_connections=100)
    ) as http:
        movies: list[str] = []
        for n in range(MOVIES):
            created = await http.post(
                "/api/v1/movies",
                headers=moderator.headers,
                json={"title": f"Film {n}", "year": 1970 + n},
            )
            assert created.status_code == 201, created.text
            movies.append(created.json()["id"])
        meetups: list[str] = []
        hours = itertools.count()

        def create(movie_id: str) -> Any:
            when = clock.now() + timedelta(days=2, hours=next(hours))  # not a duplicate
            return http.post(
                "/api/v1/announcements",
                headers=host.headers,
                json=announcement_body(movie_id=movie_id, event_time=when),
            )

        for n in range(MEETUPS):
            created = await create(movies[n % MOVIES])
            assert created.status_code == 201, created.text
            meetups.append(created.json()["id"])

        def rename(movie_id: str, take: int) -> Any:
            return http.patch(
                f"/api/v1/movies/{movie_id}",
                headers=moderator.headers,
                json={"title": f"Film {movies.index(movie_id)} take {take}"},
            )

        def re_point(meetup_id: str) -> Any:
            return http.patch(
                f"/api/v1/announcements/{meetup_id}",
                headers=host.headers,
                json={"movie_id": random.choice(movies)},
            )

        for round_ in range(ROUNDS):
            requests = [rename(m, round_ * 10 + k) for m in movies for k in range(4)]
            requests += [re_point(meetup) for meetup in meetups for _ in range(3)]
            requests += [create(m) for m in movies]  # a new meetup copies the title too
            random.shuffle(requests)
            responses = await asyncio.gather(*requests)
            bad = [(r.status_code, r.text) for r in responses if r.status_code not in (200, 201)]
            assert not bad, bad[:3]

    async with db.sessionmaker() as session:
        titles = dict((await session.execute(select(Movie.id, Movie.title))).all())
        shown = (
            await session.execute(select(Announcement.movie_id, Announcement.movie_title))
        ).all()
    assert len(shown) == MEETUPS + ROUNDS * MOVIES
    assert all(title == titles[movie_id] for movie_id, title in shown), (shown, titles)
