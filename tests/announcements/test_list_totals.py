"""`total` and `total_is_estimate` of the lists: exact up to offset + limit + COUNT_CAP matches,
beyond that offset + limit + COUNT_CAP as a lower bound. COUNT_CAP is made small here instead of
writing a thousand meetups; the 100 000-row version is in test_query_plans.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update

from app.core import pagination
from app.core.db import Database
from app.models.users import User
from tests.announcements.helpers import API
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory
from tests.support.meetups import MakeAnnouncement

CAP = 3


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(pagination, "COUNT_CAP", CAP)
    return CAP


async def _page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(API, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _shape(body: dict[str, Any]) -> tuple[int, bool, list[str]]:
    return body["total"], body["total_is_estimate"], [item["id"] for item in body["items"]]


async def _meetups(
    make_announcement: MakeAnnouncement, host: TestUser, clock: TestClock, count: int
) -> list[str]:
    """`count` meetups of `host`, a day apart: their ids in the default order."""
    return [
        str((await make_announcement(host, event_time=clock.now + timedelta(days=i + 1))).id)
        for i in range(count)
    ]


async def test_total_is_exact_up_to_the_cap_then_a_lower_bound(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
    small_cap: int,
) -> None:
    ids = await _meetups(make_announcement, await users.create(), clock, 8)

    # 8 matches, more than offset + limit + CAP = 5: "at least 5"
    assert _shape(await _page(client, limit=2)) == (2 + small_cap, True, ids[:2])
    # offset 3: up to 8 are counted, all of them
    assert _shape(await _page(client, limit=2, offset=3)) == (8, False, ids[3:5])
    # the last page, not full: its own rows tell the total
    assert _shape(await _page(client, limit=2, offset=7)) == (8, False, ids[7:])
    # past the end: nothing shown, the count is still exact
    assert _shape(await _page(client, limit=2, offset=20)) == (8, False, [])
    # any order: one more match than offset + limit + CAP = 7 is "at least 7"
    newest_first = ids[::-1]
    assert _shape(await _page(client, limit=2, offset=2, sort="-event_time")) == (
        7,
        True,
        newest_first[2:4],
    )


async def test_filters_and_sorts_are_counted_the_same_way(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
    small_cap: int,
) -> None:
    host, other = await users.create(), await users.create()
    await _meetups(make_announcement, host, clock, 5)
    await make_announcement(other, event_time=clock.now + timedelta(days=30))
    mine = {"author_id": str(host.id), "limit": 2}
    assert _shape(await _page(client, **mine))[:2] == (5, False)  # exactly 0 + 2 + CAP
    for sort in ("event_time", "-event_time", "-created", "-likes", "-host_rating"):
        body = await _page(client, limit=2, sort=sort)
        assert (body["total"], body["total_is_estimate"]) == (5, True), sort  # 6 match
    body = await _page(client, limit=2, q="stalker")  # the factory's title
    assert (body["total"], body["total_is_estimate"]) == (5, True)
    body = await _page(client, limit=1, status="cancelled")
    assert (body["total"], body["total_is_estimate"]) == (0, False)


async def test_without_a_small_cap_totals_stay_exact(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
) -> None:
    assert pagination.COUNT_CAP == 1000
    ids = await _meetups(make_announcement, await users.create(), clock, 5)
    assert _shape(await _page(client, limit=2)) == (5, False, ids[:2])


async def test_host_rating_order_is_the_same_walked_by_host_or_sorted(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    clock: TestClock,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the cap -host_rating walks the hosts by rating; below, it sorts the matches. Both
    give one order: best average first (ties interleaved by event_time), unrated hosts last."""
    hosts = [await users.create() for _ in range(5)]
    ratings = [(9, 2), (18, 4), (3, 1), (0, 0), (0, 0)]  # 4.5, 4.5, 3.0, unrated, unrated
    async with db.sessionmaker() as session, session.begin():
        for host, (total, count) in zip(hosts, ratings, strict=True):
            await session.execute(
                update(User)
                .where(User.id == host.id)  # type: ignore[arg-type]
                .values(host_rating_sum=total, host_rating_count=count)
            )
    rows: list[tuple[float, Any, uuid.UUID]] = []
    for i in range(15):  # host i % 5, each meetup an hour after the previous one
        host, (total, count) = hosts[i % 5], ratings[i % 5]
        when = clock.now + timedelta(days=1, hours=i)
        meetup = await make_announcement(host, event_time=when)
        rows.append((-(total / count) if count else float("inf"), when, meetup.id))
    expected = [str(id_) for _, _, id_ in sorted(rows)]

    walked: list[bool] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM announcement" in statement and "count(*)" not in statement:
            walked.append("JOIN LATERAL" in statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        for cap in (1000, 0, 2):
            monkeypatch.setattr(pagination, "COUNT_CAP", cap)
            walked.clear()
            seen: list[str] = []
            for offset in range(0, 16, 4):
                body = await _page(client, sort="-host_rating", limit=4, offset=offset)
                seen += [item["id"] for item in body["items"]]
            assert seen == expected, cap
            # the walk above the cap (the last page, offset 12, is within it)
            assert walked == [cap < 1000] * 3 + [False], cap
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


async def test_page_schema_documents_total_is_estimate(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    page = schemas["Page_AnnouncementListItem_"]
    assert page["properties"]["total_is_estimate"]["type"] == "boolean"
    assert page["properties"]["total_is_estimate"]["default"] is False
    assert "lower bound" in page["properties"]["total"]["description"]
    assert "at least" in page["properties"]["total_is_estimate"]["description"]
