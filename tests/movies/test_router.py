"""The movie catalog: anyone searches it, moderators and admins manage it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.support.announcements import create_announcement
from tests.support.factories import TestUser, UserFactory

API = "/api/v1/movies"


async def _add(client: httpx.AsyncClient, who: TestUser, **body: Any) -> dict[str, Any]:
    response = await client.post(API, headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_moderator_adds_a_movie_and_anyone_reads_it(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator = await users.moderator()
    movie = await _add(
        client,
        moderator,
        title="  Stalker ",
        year=1979,
        genres=["Drama", "Sci-Fi", "drama"],
        runtime_minutes=162,
        description="A guide leads two men into the Zone.",
    )
    assert movie == {
        "id": movie["id"],
        "title": "Stalker",
        "year": 1979,
        "genres": ["drama", "sci-fi"],
        "runtime_minutes": 162,
        "description": "A guide leads two men into the Zone.",
        "rating": {"average": None, "count": 0},
        "followers_count": 0,
        "upcoming_meetups_count": 0,
    }
    assert (await client.get(f"{API}/{movie['id']}")).json() == movie


async def test_admin_manages_the_catalog_and_members_may_not(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin, member = await users.admin(), await users.create()
    movie = await _add(client, admin, title="Mirror", year=1975)
    refused = await client.post(API, headers=member.headers, json={"title": "Nostalghia"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    patch = await client.patch(f"{API}/{movie['id']}", headers=member.headers, json={"year": 1974})
    assert patch.status_code == 403
    assert (await client.post(API, json={"title": "Nostalghia"})).status_code == 401


async def test_unknown_movie_is_404_before_the_role_is_checked(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    member = await users.create()
    assert (await client.get(f"{API}/{uuid.uuid4()}")).status_code == 404
    response = await client.patch(f"{API}/{uuid.uuid4()}", headers=member.headers, json={})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_same_title_and_year_is_409_duplicate_movie_in_any_case(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator = await users.moderator()
    await _add(client, moderator, title="Solaris", year=1972)
    again = await client.post(
        API, headers=moderator.headers, json={"title": "SOLARIS", "year": 1972}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_movie"
    await _add(client, moderator, title="Solaris", year=2002)  # the remake is another movie


async def test_racing_identical_additions_create_one_movie(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator = await users.moderator()
    responses = await asyncio.gather(
        *(
            client.post(
                API, headers=moderator.headers, json={"title": "Ivan's Childhood", "year": 1962}
            )
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"duplicate_movie"}
    assert (await client.get(API, params={"q": "ivan"})).json()["total"] == 1


async def test_patch_changes_fields_and_refuses_a_duplicate(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator = await users.moderator()
    await _add(client, moderator, title="Andrei Rublev", year=1966)
    movie = await _add(client, moderator, title="Andrey Rublyov", year=1966)
    clash = await client.patch(
        f"{API}/{movie['id']}", headers=moderator.headers, json={"title": "andrei rublev"}
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "duplicate_movie"
    response = await client.patch(
        f"{API}/{movie['id']}",
        headers=moderator.headers,
        json={"year": None, "runtime_minutes": 205, "genres": ["History"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["year"], body["runtime_minutes"], body["genres"]) == (
        "Andrey Rublyov",
        None,
        205,
        ["history"],
    )


async def test_corrected_title_reaches_its_announcements(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, host = await users.moderator(), await users.create()
    movie = await _add(client, moderator, title="Stalkr", year=1979)
    meetup = await create_announcement(client, host, movie_id=movie["id"])
    await client.patch(f"{API}/{movie['id']}", headers=moderator.headers, json={"title": "Stalker"})
    shown = (await client.get(f"/api/v1/announcements/{meetup['id']}")).json()
    assert shown["movie"] == {"id": movie["id"], "title": "Stalker"}


async def test_search_by_words_prefixes_and_genre(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator = await users.moderator()
    stalker = await _add(
        client, moderator, title="Stalker", year=1979, genres=["Sci-Fi", "Drama"],
        description="A journey into the Zone.",
    )  # fmt: skip
    solaris = await _add(client, moderator, title="Solaris", year=1972, genres=["Sci-Fi"])
    mirror = await _add(client, moderator, title="The Mirror", year=1975, genres=["Drama"])

    async def ids(**params: str) -> list[str]:
        body = (await client.get(API, params=params)).json()
        assert body["total"] == len(body["items"])
        return [m["id"] for m in body["items"]]

    everything = [solaris["id"], stalker["id"], mirror["id"]]  # by title, any case
    assert await ids() == everything
    assert await ids(q="STALKER") == [stalker["id"]]
    assert await ids(q="stal") == [stalker["id"]]  # word prefix
    assert await ids(q="zone") == [stalker["id"]]  # description
    assert await ids(q="mirror the") == [mirror["id"]]  # every word, any order
    assert await ids(q="solaris stalker") == []
    assert await ids(genre="sci-fi") == [solaris["id"], stalker["id"]]
    assert await ids(genre="DRAMA", q="zone") == [stalker["id"]]
    assert await ids(q="!!! ???") == everything  # no word: no text filter
    page = (await client.get(API, params={"limit": 1, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 1, 1, 1)


async def test_movie_validation_is_422(client: httpx.AsyncClient, users: UserFactory) -> None:
    moderator = await users.moderator()
    for body in (
        {"title": ""},
        {"title": "x" * 301},
        {"title": "Ok", "year": 1700},
        {"title": "Ok", "runtime_minutes": 0},
        {"title": "Ok", "genres": ["x" * 51]},
        {"title": "Ok", "rating": 5},
        {"title": "nul\x00"},
    ):
        response = await client.post(API, headers=moderator.headers, json=body)
        assert response.status_code == 422, body
