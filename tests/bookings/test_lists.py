"""The booking lists: newest first, a host's merged across their meetups, and `total` exact up to
offset + limit + COUNT_CAP then a lower bound (`total_is_estimate`). COUNT_CAP is made small
instead of writing a thousand bookings; the plans are checked on a host with 2 000 bookings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from app.core import pagination
from app.core.db import Database
from app.models.announcements import Announcement
from app.models.bookings import BookingStatus
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory
from tests.support.meetups import MakeAnnouncement, Meetups

LIST = "/api/v1/bookings"
CAP = 3


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(pagination, "COUNT_CAP", CAP)
    return CAP


async def _get(client: httpx.AsyncClient, user: TestUser, path: str = LIST, **params: Any) -> Any:
    response = await client.get(path, headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _shape(body: dict[str, Any]) -> tuple[int, bool, list[str]]:
    return body["total"], body["total_is_estimate"], [item["id"] for item in body["items"]]


async def _all_pages(client: httpx.AsyncClient, user: TestUser, **params: Any) -> list[str]:
    ids: list[str] = []
    for offset in range(0, 30, 2):
        ids += _shape(await _get(client, user, limit=2, offset=offset, **params))[2]
    return ids


async def _meetups(
    make_announcement: MakeAnnouncement, host: TestUser, clock: TestClock, count: int
) -> list[Announcement]:
    return [
        await make_announcement(host, event_time=clock.now + timedelta(days=i + 1))
        for i in range(count)
    ]


async def test_guest_list_total_is_exact_up_to_the_cap_then_a_lower_bound(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    meetups: Meetups,
    clock: TestClock,
    small_cap: int,
) -> None:
    host, guest = await users.create(), await users.create()
    booked = []
    for meetup in await _meetups(make_announcement, host, clock, 7):
        booked.append(str((await meetups.book(meetup, guest)).id))
        clock.advance(minutes=1)
    newest_first = booked[::-1]

    assert _shape(await _get(client, guest, limit=2)) == (2 + small_cap, True, newest_first[:2])
    assert _shape(await _get(client, guest, limit=2, offset=3)) == (7, False, newest_first[3:5])
    assert _shape(await _get(client, guest, limit=2, offset=6)) == (7, False, newest_first[6:])
    assert _shape(await _get(client, guest, limit=2, offset=9)) == (7, False, [])
    assert await _all_pages(client, guest) == newest_first
    assert _shape(await _get(client, host, role="guest")) == (0, False, [])


async def test_host_list_merges_their_meetups_newest_first(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    meetups: Meetups,
    clock: TestClock,
    small_cap: int,
) -> None:
    host, other_host = await users.create(), await users.create()
    guests = [await users.create() for _ in range(4)]
    mine = await _meetups(make_announcement, host, clock, 3)
    theirs = await make_announcement(other_host, event_time=clock.now + timedelta(days=9))
    booked: list[tuple[str, Announcement, BookingStatus]] = []
    for i, guest in enumerate(guests):  # round robin over the meetups, a minute apart
        for j, meetup in enumerate(mine):
            status = BookingStatus.pending if (i + j) % 3 == 0 else BookingStatus.approved
            booked.append((str((await meetups.book(meetup, guest, status)).id), meetup, status))
            clock.advance(minutes=1)
        await meetups.book(theirs, guest)
    newest_first = [id_ for id_, _, _ in booked[::-1]]

    assert _shape(await _get(client, host, role="host", limit=2)) == (5, True, newest_first[:2])
    assert _shape(await _get(client, host, role="host", limit=2, offset=8)) == (
        12,
        False,
        newest_first[8:10],
    )
    assert await _all_pages(client, host, role="host") == newest_first

    pending = [id_ for id_, _, status in booked[::-1] if status == BookingStatus.pending]
    assert await _all_pages(client, host, role="host", status="pending") == pending
    one = [id_ for id_, meetup, _ in booked[::-1] if meetup.id == mine[1].id]
    assert await _all_pages(client, host, role="host", announcement_id=str(mine[1].id)) == one
    path = f"/api/v1/announcements/{mine[1].id}/bookings"
    assert _shape(await _get(client, host, path, limit=1)) == (4, False, one[:1])
    assert _shape(await _get(client, host, path, limit=1, offset=2)) == (4, False, one[2:3])
    assert _shape(await _get(client, other_host, role="host"))[:2] == (4, False)


async def test_without_a_small_cap_totals_stay_exact(
    client: httpx.AsyncClient,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    meetups: Meetups,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    for meetup in await _meetups(make_announcement, host, clock, 5):
        await meetups.book(meetup, guest)
    assert _shape(await _get(client, guest, limit=2))[:2] == (5, False)
    assert _shape(await _get(client, host, role="host", limit=2))[:2] == (5, False)


# --- plans: a host with MEETUPS meetups of GUESTS bookings each, among ten times as many ---

MEETUPS, GUESTS = 50, 40

MEETUPS_SQL = """
INSERT INTO announcement (id, author_id, movie_title, title, description, event_time,
    duration_minutes, ends_at, location, timezone, tickets_count, approved_seats, waitlist_count,
    likes_count, is_free, sub_only, approval, tags, short_code, created_at, updated_at)
SELECT gen_random_uuid(), :host, 'Solaris', 'Regulars ' || n, '', t, 60, t + interval '1 hour',
    'Hall', 'UTC', 100, 0, 0, 0, true, false, CAST('auto' AS approval_mode), '{}', :code || n,
    CAST(:now AS timestamptz), CAST(:now AS timestamptz)
FROM generate_series(1, :meetups) AS n,
     LATERAL (SELECT CAST(:now AS timestamptz) + n * interval '1 day' AS t) AS s
"""

BOOKINGS_SQL = """
INSERT INTO booking (id, announcement_id, guest_id, seats, status, event_time, ends_at,
    approved_at, short_code, created_at, updated_at)
SELECT gen_random_uuid(), a.id, g.id, 1, 'pending', a.event_time, a.ends_at, NULL,
    'q' || a.short_code || '-' || g.n, c, c
FROM announcement AS a
     CROSS JOIN unnest(CAST(:guests AS uuid[])) WITH ORDINALITY AS g (id, n),
     LATERAL (SELECT CAST(:now AS timestamptz)
                     - (g.n * :meetups + CAST(substr(a.short_code, 3) AS int)) * interval '1 minute'
              AS c) AS t
WHERE a.author_id = :host
"""


@contextmanager
def _captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM booking" in statement and "count(*)" not in statement:
            seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


async def _plan(db: Database, statement: str, parameters: Any) -> dict[str, Any]:
    async with db.engine.connect() as conn:
        result = await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
        )
        document = result.scalar_one()
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]


def _booking_rows_read(plan: dict[str, Any]) -> int:
    return sum(
        int((n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) * n["Actual Loops"])
        for n in _nodes(plan)
        if n.get("Relation Name") == "booking"
    )


def _sorted_in(plan: dict[str, Any]) -> int:
    return max(
        (
            n["Plans"][0]["Actual Rows"] * n["Plans"][0]["Actual Loops"]
            for n in _nodes(plan)
            if n["Node Type"] == "Sort"
        ),
        default=0,
    )


async def test_host_and_guest_lists_read_about_a_page_per_meetup_not_every_booking(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    host, busy_host = await users.create(), await users.create()
    guests = [await users.create() for _ in range(GUESTS)]
    async with db.engine.begin() as conn:
        for who, meetups, code in ((host, MEETUPS, "pa"), (busy_host, 10 * MEETUPS, "pb")):
            params = {"host": who.id, "now": clock.now, "meetups": meetups, "code": code}
            await conn.execute(text(MEETUPS_SQL), params)
            await conn.execute(text(BOOKINGS_SQL), {**params, "guests": [g.id for g in guests]})
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE booking")
        await conn.exec_driver_sql("VACUUM ANALYZE announcement")

    limit = 20
    with _captured(db) as statements:
        as_host = await _get(client, host, role="host", limit=limit)
        as_guest = await _get(client, guests[0], limit=limit)
    assert (as_host["total"], as_host["total_is_estimate"]) == (limit + pagination.COUNT_CAP, True)
    assert (as_guest["total"], as_guest["total_is_estimate"]) == (11 * MEETUPS, False)
    created = [item["created"] for item in as_host["items"]]
    assert created == sorted(created, reverse=True)

    (host_sql, host_params), (guest_sql, guest_params) = statements
    host_plan = await _plan(db, host_sql, host_params)
    indexes = {n.get("Index Name") for n in _nodes(host_plan)}
    assert "ix_booking_announcement_created" in indexes, host_plan
    # at most a page from each meetup, then the page itself: not all 2 000 bookings
    assert _booking_rows_read(host_plan) <= MEETUPS * limit + 2 * limit, host_plan
    assert _sorted_in(host_plan) <= MEETUPS * limit, host_plan

    guest_plan = await _plan(db, guest_sql, guest_params)
    assert "ix_booking_guest_created" in {n.get("Index Name") for n in _nodes(guest_plan)}
    assert _booking_rows_read(guest_plan) <= 2 * limit + 1, guest_plan
    assert _sorted_in(guest_plan) == 0, guest_plan
