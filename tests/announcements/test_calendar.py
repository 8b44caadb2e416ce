"""GET /announcements/{id}/calendar.ics: an RFC 5545 event in the meetup's own time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar

from tests.announcements.helpers import API
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def _calendar(client: httpx.AsyncClient, announcement_id: str) -> Calendar:
    response = await client.get(f"{API}/{announcement_id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


async def test_ics_has_local_times_with_tzid_and_the_short_link(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    starts = (clock.now + timedelta(days=3)).replace(hour=16, minute=0, second=0)
    meetup = await create_announcement(
        client,
        host,
        title="Stalker night",
        location="Ann's flat, Moscow",
        timezone="Europe/Moscow",
        event_time=starts,
        duration_minutes=165,
    )
    calendar = await _calendar(client, meetup["id"])
    (event,) = calendar.walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert event["DTSTART"].params["TZID"] == "Europe/Moscow"
    assert start == starts and end == starts + timedelta(minutes=165)
    assert start.hour == (starts.astimezone(ZoneInfo("Europe/Moscow"))).hour == 19
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Moscow"]
    assert str(event["SUMMARY"]) == "Stalker night"
    assert str(event["LOCATION"]) == "Ann's flat, Moscow"
    assert meetup["short_url"] in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]) == f"announcement-{meetup['id']}@moviemeetup"


async def test_uid_is_stable_and_cancellation_shows(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    host = await users.create()
    meetup = await create_announcement(client, host)
    before = (await _calendar(client, meetup["id"])).walk("VEVENT")[0]
    clock.advance(minutes=5)
    await client.post(f"{API}/{meetup['id']}/cancel", headers=host.headers)
    after = (await _calendar(client, meetup["id"])).walk("VEVENT")[0]
    assert str(after["UID"]) == str(before["UID"])
    assert str(after["STATUS"]) == "CANCELLED"
    assert after["SEQUENCE"] > before["SEQUENCE"]


async def test_utc_meetup_and_unknown_one(client: httpx.AsyncClient, users: UserFactory) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    meetup = await create_announcement(client, await users.create(), event_time=starts)
    event = (await _calendar(client, meetup["id"])).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == starts
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    missing = await client.get(f"{API}/{uuid.uuid4()}/calendar.ics")
    assert missing.status_code == 404
