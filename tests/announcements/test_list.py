"""GET /announcements: every filter and sort, combined, paginated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update

from app.core.db import Database
from app.models.users import User
from tests.announcements.helpers import API, book
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory


async def _ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(API, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"]), "these tests fit on one page"
    return [item["id"] for item in body["items"]]


async def _titled(client: httpx.AsyncClient, host: TestUser, title: str, **kw: Any) -> str:
    return (await create_announcement(client, host, title=title, **kw))["id"]


async def test_default_list_is_upcoming_meetups_soonest_first(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    now = clock.now
    soon_past = await _titled(client, host, "Over soon", event_time=now + timedelta(hours=1))
    later = await _titled(client, host, "Later", event_time=now + timedelta(days=3))
    sooner = await _titled(client, host, "Sooner", event_time=now + timedelta(days=1))
    cancelled = await _titled(client, host, "Called off", event_time=now + timedelta(days=2))
    await client.post(f"{API}/{cancelled}/cancel", headers=host.headers)
    clock.advance(hours=2)  # "Over soon" has started
    assert soon_past not in await _ids(client)
    assert await _ids(client) == [sooner, later]


async def test_list_items_are_compact(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create(name="Ann")
    meetup = await create_announcement(client, host, tags=["cult"])
    item = (await client.get(API)).json()["items"][0]
    assert set(item) == {
        "id", "title", "movie", "author", "event_time", "duration_minutes", "location",
        "timezone", "status", "tickets_count", "tickets_left", "is_free", "price", "sub_only",
        "approval", "tags", "likes_count", "short_url",
    }  # fmt: skip
    assert item["author"]["name"] == "Ann"
    assert item["short_url"] == meetup["short_url"]


async def test_status_filter_selects_each_status_and_combines(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    now = clock.now
    finished = await _titled(
        client, host, "Finished", event_time=now + timedelta(hours=1), duration_minutes=30
    )
    started = await _titled(
        client, host, "Started", event_time=now + timedelta(hours=1, minutes=30)
    )
    full = await _titled(
        client, host, "Full", event_time=now + timedelta(days=1), tickets_count=1, approval="auto"
    )
    await book(client, guest, full)
    open_ = await _titled(client, host, "Open", event_time=now + timedelta(days=2))
    cancelled = await _titled(client, host, "Cancelled", event_time=now + timedelta(days=3))
    await client.post(f"{API}/{cancelled}/cancel", headers=host.headers)
    clock.advance(hours=1, minutes=45)

    assert await _ids(client, status="open") == [open_]
    assert await _ids(client, status="full") == [full]
    assert await _ids(client, status="started") == [started]
    assert await _ids(client, status="finished") == [finished]
    assert await _ids(client, status="cancelled") == [cancelled]
    assert await _ids(client, status=["finished", "started"]) == [finished, started]
    assert await _ids(client) == [full, open_]
    statuses = {i["id"]: i["status"] for i in (await client.get(API, params={
        "status": ["open", "full", "started", "finished", "cancelled"]})).json()["items"]}  # fmt: skip
    assert statuses == {
        finished: "finished",
        started: "started",
        full: "full",
        open_: "open",
        cancelled: "cancelled",
    }
    assert (await client.get(API, params={"status": "soon"})).status_code == 422


async def test_q_finds_words_in_title_description_and_film_any_case(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    a = await _titled(client, host, "Tarkovsky marathon", movie_title="Solaris")
    b = await _titled(
        client,
        host,
        "Friday film",
        description="Bring snacks, Stalker is long",
        movie_title="Stalker",
        **_in(3),
    )
    assert await _ids(client, q="TARKOVSKY") == [a]
    assert await _ids(client, q="solaris") == [a]  # the film title
    assert await _ids(client, q="snacks") == [b]  # the description
    assert await _ids(client, q="stalk") == [b]  # a word prefix
    assert await _ids(client, q="friday snacks") == [b]  # all words
    assert await _ids(client, q="friday solaris") == []
    assert await _ids(client, q="ovsky") == []  # not a substring search


async def test_movie_author_and_location_filters(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann, bob = await users.moderator(), await users.create(), await users.create()
    movie = (
        await client.post(
            "/api/v1/movies", headers=moderator.headers, json={"title": "Solaris", "year": 1972}
        )
    ).json()
    by_ann = await _titled(client, ann, "A", movie_id=movie["id"], location="Cinema 100% Kino")
    by_bob = await _titled(client, bob, "B", location="Bob's garden, Riga")
    assert await _ids(client, movie_id=movie["id"]) == [by_ann]
    assert await _ids(client, author_id=str(bob.id)) == [by_bob]
    assert await _ids(client, location="riga") == [by_bob]
    assert await _ids(client, location="100%") == [by_ann]  # % is literal
    assert await _ids(client, location="1_0") == []  # _ is literal
    assert await _ids(client, location="kino", author_id=str(bob.id)) == []


async def test_date_bounds_are_inclusive_and_accept_dates(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    day = (clock.now + timedelta(days=10)).replace(hour=0, minute=0, second=0)  # UTC midnight
    d1 = await _titled(client, host, "1", event_time=day - timedelta(hours=6))
    d2 = await _titled(client, host, "2", event_time=day + timedelta(hours=23, minutes=30))
    d3 = await _titled(client, host, "3", event_time=day + timedelta(days=1))
    exact = (day + timedelta(hours=23, minutes=30)).isoformat()
    assert await _ids(client, date_from=exact) == [d2, d3]
    assert await _ids(client, date_to=exact) == [d1, d2]
    assert await _ids(client, date_from=exact, date_to=exact) == [d2]
    # The same instant with another offset.
    moscow = (day + timedelta(hours=23, minutes=30)).astimezone(ZoneInfo("Europe/Moscow"))
    assert await _ids(client, date_from=moscow.isoformat()) == [d2, d3]
    # A plain date is the whole day in UTC.
    date = day.date().isoformat()
    assert await _ids(client, date_from=date, date_to=date) == [d2]
    assert await _ids(client, date_to=date) == [d1, d2]
    assert await _ids(client, date_from=date) == [d2, d3]
    naive = await client.get(
        API, params={"date_from": (day + timedelta(hours=12)).replace(tzinfo=None).isoformat()}
    )
    assert naive.status_code == 422


async def test_seat_price_subscriber_and_tag_filters(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host, guest = await users.create(), await users.create()
    full = await _titled(client, host, "Full", tickets_count=1, approval="auto", tags=["Noir"])
    await book(client, guest, full)
    paid = await _titled(
        client, host, "Paid", is_free=False, price="3.00", tags=["noir", "classic"], **_in(3)
    )
    subs = await _titled(client, host, "Subs", sub_only=True, tags=["classic"], **_in(4))
    assert await _ids(client, has_seats="true") == [paid, subs]
    assert await _ids(client, has_seats="false") == [full]
    assert await _ids(client, is_free="false") == [paid]
    assert await _ids(client, is_free="true") == [full, subs]
    assert await _ids(client, sub_only="true") == [subs]
    assert await _ids(client, sub_only="false") == [full, paid]
    assert await _ids(client, tag="NOIR") == [full, paid]
    assert await _ids(client, tag=["noir", "classic"]) == [paid]
    assert await _ids(client, tag="classic", is_free="true", has_seats="true") == [subs]


def _in(days: int) -> dict[str, datetime]:
    return {"event_time": datetime.now(UTC) + timedelta(days=days)}


async def test_sorts(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock, db: Database
) -> None:
    good, bad, new = await users.create(), await users.create(), await users.create()
    fans = [await users.create() for _ in range(2)]
    now = clock.now
    first = await _titled(client, good, "First", event_time=now + timedelta(days=1))
    clock.advance(minutes=1)
    second = await _titled(client, bad, "Second", event_time=now + timedelta(days=2))
    clock.advance(minutes=1)
    third = await _titled(client, new, "Third", event_time=now + timedelta(days=3))
    async with db.sessionmaker() as session, session.begin():
        # Ratings come from reviews (another domain); the running aggregates are set directly.
        await session.execute(
            update(User).where(User.id == good.id).values(host_rating_sum=9, host_rating_count=2)
        )
        await session.execute(
            update(User).where(User.id == bad.id).values(host_rating_sum=2, host_rating_count=1)
        )
    for fan in fans:
        await client.put(f"{API}/{second}/like", headers=fan.headers)
    await client.put(f"{API}/{third}/like", headers=fans[0].headers)

    assert await _ids(client) == [first, second, third]
    assert await _ids(client, sort="event_time") == [first, second, third]
    assert await _ids(client, sort="-event_time") == [third, second, first]
    assert await _ids(client, sort="-created") == [third, second, first]
    assert await _ids(client, sort="-host_rating") == [first, second, third]  # unrated last
    assert await _ids(client, sort="-likes") == [second, third, first]
    assert (await client.get(API, params={"sort": "title"})).status_code == 422


async def test_pagination_with_filters(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host, other = await users.create(), await users.create()
    mine = [
        await _titled(client, host, f"M{i}", event_time=clock.now + timedelta(days=i + 1))
        for i in range(5)
    ]
    await _titled(client, other, "Not mine")
    page = (
        await client.get(API, params={"author_id": str(host.id), "limit": 2, "offset": 2})
    ).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [item["id"] for item in page["items"]] == mine[2:4]
    assert (await client.get(API, params={"limit": 0})).status_code == 422
    assert (await client.get(API, params={"limit": 101})).status_code == 422


async def test_malformed_filters_are_422(client: httpx.AsyncClient) -> None:
    for params in (
        {"location": "nul\x00"},
        {"tag": "nul\x00"},
        {"q": "x" * 201},
        {"author_id": "ann"},
        {"has_seats": "maybe"},
        {"date_to": "tomorrow"},
    ):
        response = await client.get(API, params=params)
        assert response.status_code == 422, params
        assert response.json()["code"] == "validation_error"
