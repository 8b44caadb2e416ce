"""POST /announcements: the fields, the defaults, time zones and the rules of a new meetup."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from app.core.db import Database
from tests.announcements.helpers import API, events, hosted_count
from tests.support.announcements import announcement_body, create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def _movie(client: httpx.AsyncClient, users: UserFactory, **body: object) -> dict:
    moderator = await users.moderator()
    response = await client.post("/api/v1/movies", headers=moderator.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_created_meetup_shows_every_contract_field(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create(name="Ann")
    starts = clock.now + timedelta(days=3)
    response = await client.post(
        API,
        headers=host.headers,
        json=announcement_body(
            title="Stalker night",
            event_time=starts,
            location="Ann's flat",
            timezone="Europe/Moscow",
            tickets_count=5,
            is_free=False,
            price="7.50",
            sub_only=True,
            approval="auto",
            tags=["Tarkovsky", "sci-fi", "tarkovsky"],
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= {
        "id", "created", "modified", "status", "title", "description", "movie", "author",
        "event_time", "duration_minutes", "location", "timezone", "tickets_count",
        "tickets_left", "is_free", "price", "sub_only", "approval", "tags", "guest_list",
        "waitlist_count", "likes_count", "short_url",
    }  # fmt: skip
    assert body["status"] == "open"
    assert body["movie"] == {"id": None, "title": "Stalker"}
    assert body["author"] == {
        "id": str(host.id),
        "name": "Ann",
        "host_rating": {"average": None, "count": 0},
    }
    assert datetime.fromisoformat(body["event_time"]) == starts
    assert body["event_time"].endswith(("Z", "+00:00"))  # returned in UTC
    assert body["duration_minutes"] == 120  # no movie runtime: the default
    assert (body["timezone"], body["tickets_count"], body["tickets_left"]) == (
        "Europe/Moscow",
        5,
        5,
    )
    assert (body["is_free"], body["price"], body["sub_only"], body["approval"]) == (
        False,
        "7.50",
        True,
        "auto",
    )
    assert body["tags"] == ["tarkovsky", "sci-fi"]
    assert (body["guest_list"], body["waitlist_count"], body["likes_count"]) == ([], 0, 0)
    assert body["short_url"].startswith("http://meetup.test/s/")
    assert body["friends_going"] == []  # the author is signed in; no guest yet
    fetched = await client.get(f"{API}/{body['id']}")
    assert fetched.json() == {**body, "friends_going": None}  # anonymous: not said


async def test_catalog_movie_gives_title_and_default_duration(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    movie = await _movie(client, users, title="Solaris", year=1972, runtime_minutes=167)
    host = await users.create()
    body = await create_announcement(client, host, movie_id=movie["id"])
    assert body["movie"] == {"id": movie["id"], "title": "Solaris"}
    assert body["duration_minutes"] == 167
    explicit = await create_announcement(
        client, host, movie_id=movie["id"], duration_minutes=200, event_time=_later(days=5)
    )
    assert explicit["duration_minutes"] == 200


async def test_catalog_movie_without_runtime_defaults_to_120_minutes(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    movie = await _movie(client, users, title="Mirror", year=1975)
    body = await create_announcement(client, await users.create(), movie_id=movie["id"])
    assert body["duration_minutes"] == 120


def _later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


async def test_unknown_movie_id_is_422_unknown_movie(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    response = await client.post(
        API, headers=host.headers, json=announcement_body(movie_id=str(uuid.uuid4()))
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_movie"


async def test_film_must_be_named_exactly_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    neither = announcement_body()
    neither.pop("movie_title")
    both = announcement_body(movie_id=str(uuid.uuid4()), movie_title="Stalker")
    for body in (neither, both):
        response = await client.post(API, headers=host.headers, json=body)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


async def test_naive_event_time_is_422(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create()
    body = announcement_body(event_time=(datetime.now() + timedelta(days=2)).isoformat())
    response = await client.post(API, headers=host.headers, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "event_time"]


async def test_unknown_timezone_is_422_and_default_is_utc(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    for bad in ("Mars/Olympus_Mons", "europe/moscow", "../../etc/passwd", "", "+03:00"):
        response = await client.post(
            API, headers=host.headers, json=announcement_body(timezone=bad)
        )
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["body", "timezone"]
    assert (await create_announcement(client, host))["timezone"] == "UTC"


async def test_event_time_must_be_in_the_future(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    for when in (clock.now - timedelta(minutes=1), clock.now):
        response = await client.post(
            API, headers=host.headers, json=announcement_body(event_time=when)
        )
        assert response.status_code == 422
        assert response.json()["code"] == "event_time_not_in_future"


async def test_offset_is_kept_as_the_same_instant(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    day = (clock.now + timedelta(days=30)).date()
    local = datetime.combine(day, time(19, 0), tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert local.hour == 4
    body = await create_announcement(client, host, event_time=local, timezone="Asia/Tokyo")
    assert body["event_time"] in (f"{day}T19:00:00Z", f"{day}T19:00:00+00:00")


async def test_field_limits_are_422(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create()
    for overrides in (
        {"tickets_count": 0},
        {"tickets_count": 1001},
        {"duration_minutes": 0},
        {"duration_minutes": 1441},
        {"title": "  "},
        {"title": "x" * 201},
        {"location": ""},
        {"approval": "sometimes"},
        {"tags": ["x" * 41]},
        {"unknown_field": 1},
        {"title": "nul\x00byte"},
    ):
        response = await client.post(API, headers=host.headers, json=announcement_body(**overrides))
        assert response.status_code == 422, overrides


async def test_price_must_match_is_free(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create()
    for overrides in ({"is_free": True, "price": "5"}, {"is_free": False}, {"price": "-1"}):
        response = await client.post(API, headers=host.headers, json=announcement_body(**overrides))
        assert response.status_code == 422, overrides
    free = await create_announcement(client, host, price="0")
    assert (free["is_free"], free["price"]) == (True, None)


async def test_anonymous_cannot_announce(client: httpx.AsyncClient) -> None:
    response = await client.post(API, json=announcement_body())
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_same_author_same_start_is_409_duplicate_announcement(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host, other = await users.create(), await users.create()
    starts = clock.now + timedelta(days=2)
    await create_announcement(client, host, event_time=starts)
    again = await client.post(
        API, headers=host.headers, json=announcement_body(event_time=starts, title="Other")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_announcement"
    # Another author at the same time, or the same author a minute later, is fine.
    await create_announcement(client, other, event_time=starts)
    await create_announcement(client, host, event_time=starts + timedelta(minutes=1))


async def test_a_cancelled_meetup_frees_its_start_time(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    starts = clock.now + timedelta(days=2)
    first = await create_announcement(client, host, event_time=starts)
    await client.post(f"{API}/{first['id']}/cancel", headers=host.headers)
    await create_announcement(client, host, event_time=starts)


async def test_two_identical_requests_at_once_create_one_meetup(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    host = await users.create()
    body = announcement_body(event_time=clock.now + timedelta(days=2))
    responses = await asyncio.gather(
        *(client.post(API, headers=host.headers, json=body) for _ in range(2))
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.json()["code"] == "duplicate_announcement"
    listed = (await client.get(API, params={"author_id": str(host.id)})).json()
    assert listed["total"] == 1
    assert await hosted_count(db, host) == 1


async def test_creation_counts_as_hosted_and_records_one_event(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host, fan1, fan2 = await users.create(), await users.create(), await users.create()
    for fan in (fan1, fan2):
        await client.put(f"/api/v1/users/{host.id}/follow", headers=fan.headers)
    body = await create_announcement(client, host)
    assert await hosted_count(db, host) == 1
    assert (await client.get(f"/api/v1/users/{host.id}")).json()["hosted_count"] == 1
    recorded = await events(db, "announcement_created", body["id"])
    assert len(recorded) == 1  # one event; the worker fans it out to the followers
    assert recorded[0].actor_id == host.id


async def test_idempotency_key_replays_the_first_response(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    body = announcement_body()
    headers = {**host.headers, "Idempotency-Key": "create-1"}
    first = await client.post(API, headers=headers, json=body)
    again = await client.post(API, headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    other = await client.post(API, headers=headers, json={**body, "title": "Something else"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
