"""Each notification kind reaches the right people, in-app and by email, and no one else.

The changes are made through the API (bookings, announcements); a real arq worker turns the
outbox events into notifications; the emails arrive at a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.bookings import tasks as booking_tasks
from app.core import clock
from app.core.db import Database
from app.events import DomainEvent
from app.models.announcements import Approval
from app.models.notifications import Notification
from app.notifications.fanout import process_event
from tests.notifications.helpers import (
    RunWorker,
    event,
    ics_of,
    inbox,
    kinds,
    mail_to,
    notification_count,
    record_event,
    worker_ctx,
)
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox

API = "/api/v1"


async def _book(client: httpx.AsyncClient, guest, announcement_id, **body) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"{API}/announcements/{announcement_id}/bookings", headers=guest.headers, json=body
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _act(client: httpx.AsyncClient, user, booking_id: str, action: str, **body) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"{API}/bookings/{booking_id}/{action}", headers=user.headers, json=body or None
    )
    assert response.status_code == 200, response.text


async def test_booking_request_notifies_the_host_in_app_and_by_email_and_no_one_else(
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host = await users.create(name="Hostess")
    guest = await users.create(name="Gus")
    bystander = await users.create()
    meetup = await meetups.create(host, title="Stalker night", approval=Approval.manual)
    booking = await _book(client, guest, meetup.id, seats=2)
    await run_worker()

    page = await inbox(client, host)
    assert page["total"] == 1 and page["unread_count"] == 1
    item = page["items"][0]
    assert item["kind"] == "booking_requested"
    assert item["booking_id"] == booking["id"]
    assert item["announcement_id"] == str(meetup.id)
    assert "Gus" in item["body"] and "2 seats" in item["body"]
    assert "Stalker night" in item["title"]
    assert item["link"].startswith("http://meetup.test/s/")
    assert item["read_at"] is None
    assert (await inbox(client, guest))["total"] == 0
    assert (await inbox(client, bystander))["total"] == 0

    [message] = mail_to(mailbox, host)
    assert message["Subject"] == item["title"]
    text = mailbox.text_of(message)
    assert "Hello Hostess" in text and item["link"] in text
    html = message.get_body(("html",))
    assert html is not None and item["link"] in html.get_content()
    assert len(mailbox) == 1


async def test_short_link_of_a_notification_leads_to_the_booking(
    client: httpx.AsyncClient, users: UserFactory, meetups: Meetups, run_worker: RunWorker
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host)
    booking = await _book(client, guest, meetup.id)
    await run_worker()
    link = (await inbox(client, host))["items"][0]["link"]
    response = await client.get(link.removeprefix("http://meetup.test"))
    assert response.status_code == 307
    assert response.headers["location"].endswith(f"/api/v1/bookings/{booking['id']}")


async def test_approval_email_shows_local_time_and_attaches_the_calendar_event(
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, guest = await users.create(name="Hostess"), await users.create()
    soon = clock.now().date() + timedelta(days=30)
    friday = soon + timedelta(days=(4 - soon.weekday()) % 7)
    start = datetime.combine(friday, time(16, 0), tzinfo=UTC)  # 19:00 in Moscow
    meetup = await meetups.create(host, event_time=start, timezone="Europe/Moscow")
    booking = await _book(client, guest, meetup.id)
    await _act(client, host, booking["id"], "approve")
    await run_worker()

    [item] = (await inbox(client, guest))["items"]
    assert item["kind"] == "booking_approved"
    assert f"Friday {friday.day} {friday:%B %Y}, 19:00 (Europe/Moscow)" in item["title"]
    [message] = mail_to(mailbox, guest)
    assert "19:00 (Europe/Moscow)" in mailbox.text_of(message)
    ics = ics_of(message)
    assert ics is not None
    assert f"DTSTART;TZID=Europe/Moscow:{friday:%Y%m%d}T190000" in ics
    assert "SUMMARY:Stalker night" in ics
    assert await kinds(client, host) == ["booking_requested"]


async def test_auto_approved_booking_tells_the_guest_not_the_host(
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approval=Approval.auto)
    await _book(client, guest, meetup.id)
    await run_worker()
    assert await kinds(client, guest) == ["booking_approved"]
    assert await kinds(client, host) == []
    assert ics_of(mail_to(mailbox, guest)[0]) is not None
    assert mail_to(mailbox, host) == []


async def test_rejection_reaches_the_guest_with_the_reason_and_no_calendar(
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host)
    booking = await _book(client, guest, meetup.id)
    await _act(client, host, booking["id"], "reject", reason="Only close friends this time")
    await run_worker()
    [item] = (await inbox(client, guest))["items"]
    assert item["kind"] == "booking_rejected"
    assert "Only close friends this time" in item["body"]
    assert ics_of(mail_to(mailbox, guest)[0]) is None


async def test_cancellation_by_the_guest_tells_the_host_and_by_the_host_tells_the_guest(
    client: httpx.AsyncClient, users: UserFactory, meetups: Meetups, run_worker: RunWorker
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approval=Approval.auto)
    ann_booking = await _book(client, ann, meetup.id)
    bob_booking = await _book(client, bob, meetup.id)
    await run_worker()
    await _act(client, ann, ann_booking["id"], "cancel")
    await _act(client, host, bob_booking["id"], "cancel")
    await run_worker()

    host_items = (await inbox(client, host))["items"]
    assert [i["kind"] for i in host_items] == ["booking_cancelled"]
    assert host_items[0]["booking_id"] == ann_booking["id"]
    assert await kinds(client, ann) == ["booking_approved"]  # not told of her own cancellation
    bob_items = (await inbox(client, bob))["items"]
    assert [i["kind"] for i in bob_items] == ["booking_cancelled", "booking_approved"]
    assert "by the host" in bob_items[0]["title"]


async def test_waitlist_promotion_tells_guest_and_host_when_manual(
    client: httpx.AsyncClient, users: UserFactory, meetups: Meetups, run_worker: RunWorker
) -> None:
    host, first, waiting = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, tickets_count=1)
    booked = await _book(client, first, meetup.id)
    await _act(client, host, booked["id"], "approve")
    queued = await _book(client, waiting, meetup.id, join_waitlist=True)
    assert queued["status"] == "waitlisted"
    await _act(client, first, booked["id"], "cancel")
    await run_worker()

    assert await kinds(client, waiting) == ["waitlist_promoted"]
    host_kinds = await kinds(client, host)
    assert sorted(host_kinds) == sorted(
        ["booking_requested", "booking_requested", "booking_cancelled", "waitlist_promoted"]
    )
    waitlisted_request = [
        i for i in (await inbox(client, host))["items"] if i["booking_id"] == queued["id"]
    ]
    assert {i["kind"] for i in waitlisted_request} == {"booking_requested", "waitlist_promoted"}
    assert any("waitlist" in i["title"] for i in waitlisted_request)


async def test_waitlist_promotion_on_an_auto_meetup_tells_only_the_guest(
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, first, waiting = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, tickets_count=1, approval=Approval.auto)
    booked = await _book(client, first, meetup.id)
    await _book(client, waiting, meetup.id, join_waitlist=True)
    await run_worker()
    mailbox.clear()
    await _act(client, first, booked["id"], "cancel")
    await run_worker()
    assert await kinds(client, waiting) == ["waitlist_promoted"]
    assert "you're in" in (await inbox(client, waiting))["items"][0]["title"]
    assert ics_of(mail_to(mailbox, waiting)[0]) is not None
    assert "waitlist_promoted" not in await kinds(client, host)


async def test_pending_booking_expires_at_the_start_and_the_guest_is_told(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, event_time=clock.now + timedelta(hours=3))
    await _book(client, guest, meetup.id)
    clock.advance(hours=3, minutes=1)
    await booking_tasks.expire_started_bookings(worker_ctx(app))
    await run_worker()
    [item] = (await inbox(client, guest))["items"]
    assert item["kind"] == "booking_expired"
    assert await kinds(client, host) == ["booking_requested"]


async def test_meetup_change_reaches_guests_with_active_bookings_with_what_changed(
    client: httpx.AsyncClient,
    users: UserFactory,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host = await users.create()
    approved, pending, rejected = [await users.create() for _ in range(3)]
    bystander = await users.create()
    created = await create_announcement(
        client, host, location="12 Film Street", timezone="Europe/Moscow"
    )
    a_id = created["id"]
    b1 = await _book(client, approved, a_id)
    await _act(client, host, b1["id"], "approve")
    await _book(client, pending, a_id)
    b3 = await _book(client, rejected, a_id)
    await _act(client, host, b3["id"], "reject")
    await run_worker()
    mailbox.clear()

    new_time = datetime.fromisoformat(created["event_time"]) + timedelta(days=1)
    response = await client.patch(
        f"{API}/announcements/{a_id}",
        headers=host.headers,
        json={"location": "7 Cinema Lane", "event_time": new_time.isoformat()},
    )
    assert response.status_code == 200, response.text
    await run_worker()

    for guest in (approved, pending):
        item = (await inbox(client, guest))["items"][0]
        assert item["kind"] == "announcement_updated"
        assert "12 Film Street → 7 Cinema Lane" in item["body"]
        assert "Time:" in item["body"] and "(Europe/Moscow)" in item["body"]
        [message] = mail_to(mailbox, guest)
        assert "7 Cinema Lane" in mailbox.text_of(message)
        assert "7 Cinema Lane" in (ics_of(message) or "")
    assert "announcement_updated" not in await kinds(client, rejected)
    assert "announcement_updated" not in await kinds(client, host)
    assert await kinds(client, bystander) == []


async def test_meetup_cancellation_reaches_every_guest_with_an_active_booking(
    client: httpx.AsyncClient, users: UserFactory, run_worker: RunWorker, mailbox: Mailbox
) -> None:
    host, ann, bob, bystander = [await users.create() for _ in range(4)]
    a_id = (await create_announcement(client, host))["id"]
    await _book(client, ann, a_id)
    await _book(client, bob, a_id, join_waitlist=True)
    response = await client.post(
        f"{API}/announcements/{a_id}/cancel", headers=host.headers, json={"reason": "Flu"}
    )
    assert response.status_code == 200, response.text
    await run_worker()
    for guest in (ann, bob):
        item = (await inbox(client, guest))["items"][0]
        assert item["kind"] == "announcement_cancelled"
        assert "Flu" in item["body"]
        assert len(mail_to(mailbox, guest)) == 1
    assert await kinds(client, bystander) == []
    assert "announcement_cancelled" not in await kinds(client, host)


async def test_new_announcement_reaches_the_followers_only(
    client: httpx.AsyncClient,
    users: UserFactory,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host = await users.create(name="Hostess")
    fans = [await users.create() for _ in range(3)]
    stranger = await users.create()
    for fan in fans:
        followed = await client.put(f"{API}/users/{host.id}/follow", headers=fan.headers)
        assert followed.status_code == 204
    created = await create_announcement(client, host, title="Solaris at mine")
    await run_worker()
    for fan in fans:
        [item] = (await inbox(client, fan))["items"]
        assert item["kind"] == "new_announcement"
        assert item["announcement_id"] == created["id"]
        assert "Hostess" in item["title"] and "Solaris at mine" in item["title"]
        assert item["link"] == created["short_url"]
        assert len(mail_to(mailbox, fan)) == 1
    assert await kinds(client, stranger) == []
    assert await kinds(client, host) == []


async def test_no_email_for_someone_who_turned_email_off_but_the_inbox_still_gets_it(
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, guest = await users.create(), await users.create()
    off = await client.patch(
        f"{API}/users/me", headers=host.headers, json={"email_notifications": False}
    )
    assert off.status_code == 200
    meetup = await meetups.create(host)
    await _book(client, guest, meetup.id)
    await run_worker()
    assert await kinds(client, host) == ["booking_requested"]
    assert mail_to(mailbox, host) == []


async def test_processing_an_event_again_changes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host)
    booking = await meetups.book(meetup, guest)
    event_id = await record_event(
        app,
        "booking_approved",
        announcement_id=meetup.id,
        booking_id=booking.id,
        actor_id=host.id,
    )
    await run_worker()
    assert (await event(db, event_id)).processed_at is not None
    assert await process_event(worker_ctx(app), str(event_id)) == "already_processed"
    async with db.sessionmaker() as session, session.begin():
        # Even with the processed mark lost, the dedupe keys keep it to one notification.
        row = await session.get(DomainEvent, event_id)
        assert row is not None
        row.processed_at = None
    assert await process_event(worker_ctx(app), str(event_id)) == "processed"
    await run_worker()
    assert await notification_count(db, Notification.user_id == guest.id) == 1
    assert len(mail_to(mailbox, guest)) == 1
    async with db.sessionmaker() as session:
        keys = (await session.scalars(select(Notification.dedupe_key))).all()
    assert keys == [f"{event_id}:{guest.id}:booking_approved"]
