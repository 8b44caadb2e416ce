"""`meetup seed-demo`: a catalog, demo accounts and meetups that the API serves; safe to re-run."""

from __future__ import annotations

import httpx

from app.core.db import Database, Tx
from app.seed.demo import (
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    FILM_REVIEWS,
    MEETUPS,
    PEOPLE,
    SeedReport,
    seed,
)
from app.seed.films import FILMS


async def _seed(db: Database) -> SeedReport:
    async with db.sessionmaker() as session, session.begin():
        return await seed(Tx(session))


async def test_seed_demo_fills_an_empty_database_once(
    client: httpx.AsyncClient, db: Database
) -> None:
    first = await _seed(db)
    assert first.movies_added == len(FILMS) >= 30
    assert len(first.users_created) == len(PEOPLE)
    assert first.announcements_created == len(MEETUPS)
    assert first.bookings_created > 0

    again = await _seed(db)
    assert (again.movies_added, again.users_created, again.announcements_created) == (0, [], 0)

    movies = (await client.get("/api/v1/movies", params={"limit": 100})).json()
    assert movies["total"] == len(FILMS)
    listed = (await client.get("/api/v1/announcements", params={"limit": 100})).json()
    assert listed["total"] == len(MEETUPS)
    assert {item["timezone"] for item in listed["items"]} >= {"Europe/Moscow", "Europe/Berlin"}
    stalker = (await client.get("/api/v1/announcements", params={"q": "stalker"})).json()
    assert stalker["items"][0]["movie"]["title"] == "Stalker"
    assert stalker["items"][0]["duration_minutes"] == 162  # the film's runtime
    login = await client.post(
        "/api/v1/auth/login", json={"email": f"ann@{DEMO_DOMAIN}", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200
    ann = stalker["items"][0]["author"]["id"]
    profile = (await client.get(f"/api/v1/users/{ann}")).json()
    assert profile["hosted_count"] == sum(1 for m in MEETUPS if m.host == "ann")

    # The film community is alive: friends, followed films, reviews with likes.
    assert first.film_reviews_created == len(FILM_REVIEWS)
    friends = (await client.get(f"/api/v1/users/{ann}/friends")).json()["items"]
    assert [friend["name"] for friend in friends] == ["Vera Martin"]
    assert profile["friends_count"] == 1
    film = (await client.get("/api/v1/movies", params={"q": "stalker"})).json()["items"][0]
    assert film["rating"] == {"average": 8.67, "count": 3}
    assert film["followers_count"] == 1 and film["upcoming_meetups_count"] == 1
    reviews = (await client.get(f"/api/v1/movies/{film['id']}/reviews")).json()["items"]
    assert [(r["author"]["name"], r["likes_count"]) for r in reviews] == [
        ("Ann Petrova", 3),
        ("Dasha Ivanova", 1),
        ("Gleb Sokolov", 0),
    ]
    best = (await client.get("/api/v1/movies", params={"sort": "-rating", "limit": 1})).json()
    assert best["items"][0]["title"] == "Seven Samurai"  # 9.5 over 2 reviews
