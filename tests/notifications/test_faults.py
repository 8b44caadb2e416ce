"""Faults: Redis down when the change is made, SMTP refusing, a worker killed mid-batch, two
workers at once, a meetup moved after its reminder was scheduled."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text

from app.core.db import Database
from app.core.embedded import EmbeddedRedis
from app.events import DomainEvent
from app.models.announcements import Approval
from app.models.mail import EmailMessage, EmailStatus
from app.models.notifications import Notification
from app.notifications.reminders import reminder_job_id, send_reminder
from tests.notifications.helpers import (
    BackgroundWorker,
    RunWorker,
    add_followers,
    inbox,
    kinds,
    mail_to,
    notification_count,
    record_event,
    run_sweep,
    sweep_and_work,
    wait_for_blocked_insert,
    worker_ctx,
)
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox, SMTPSink


async def test_booking_made_while_redis_is_down_is_notified_once_redis_is_back(
    client: httpx.AsyncClient,
    app: FastAPI,
    app_with_own_redis: tuple[FastAPI, EmbeddedRedis],
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    clock: TestClock,
) -> None:
    offline_app, offline_redis = app_with_own_redis
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host)
    offline_redis.stop()
    transport = httpx.ASGITransport(app=offline_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as offline:
        booked = await offline.post(
            f"/api/v1/announcements/{meetup.id}/bookings", headers=guest.headers, json={}
        )
    assert booked.status_code == 201, booked.text  # the booking does not depend on Redis
    async with db.sessionmaker() as session:
        [pending] = (await session.scalars(select(DomainEvent))).all()
    assert pending.processed_at is None
    await run_worker()  # nothing was enqueued: the worker has nothing to do
    assert await kinds(client, host) == []

    offline_redis.start()
    clock.advance(minutes=1)  # the next minute's sweep finds the event
    await sweep_and_work(app, run_worker)
    [item] = (await inbox(client, host))["items"]
    assert item["kind"] == "booking_requested"
    assert item["booking_id"] == booked.json()["id"]
    assert len(mail_to(mailbox, host)) == 1


async def test_smtp_refusing_is_retried_and_the_email_then_goes_out_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    smtp_sink: SMTPSink,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approval=Approval.auto)
    booked = await client.post(
        f"/api/v1/announcements/{meetup.id}/bookings", headers=guest.headers, json={}
    )
    assert booked.status_code == 201
    smtp_sink.refuse = True
    try:
        await run_worker()
    finally:
        smtp_sink.refuse = False
    assert await kinds(client, guest) == ["booking_approved"]  # in-app does not wait for SMTP
    assert mail_to(mailbox, guest) == []
    async with db.sessionmaker() as session:
        [email] = (await session.scalars(select(EmailMessage))).all()
    assert (email.status, email.attempts) == (EmailStatus.pending, 1)
    assert email.last_error and "451" in email.last_error

    # The retry waits in Redis, deferred by arq's real clock; the test clock cannot reach it, so
    # drop it (as if Redis had lost it): the sweep re-enqueues what PostgreSQL says is due.
    clock.advance(minutes=2)  # past the first backoff
    await app.state.redis.flushdb()
    await sweep_and_work(app, run_worker)
    [message] = mail_to(mailbox, guest)
    assert "You're in" in str(message["Subject"])
    clock.advance(minutes=10)
    await sweep_and_work(app, run_worker)
    assert len(mail_to(mailbox, guest)) == 1


async def test_a_worker_killed_mid_reminder_batch_and_restarted_reminds_everyone_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    clock: TestClock,
) -> None:
    host = await users.create()
    guests = [await users.create() for _ in range(5)]
    start = clock.now + timedelta(days=2)
    meetup = await meetups.create(host, event_time=start, tickets_count=10)
    for guest in guests:
        await meetups.book(meetup, guest)
    clock.set(start - timedelta(hours=23, minutes=59))
    await run_sweep(app)

    async with db.engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT 1 FROM user_account WHERE id = :id FOR UPDATE"), {"id": guests[3].id}
        )
        worker = BackgroundWorker()
        await wait_for_blocked_insert(db, "notification")
        await worker.kill()  # mid-batch: the host's and two guests' rows are written, not committed
        await transaction.rollback()
    assert await notification_count(db) == 0

    clock.advance(minutes=1)
    await sweep_and_work(app, run_worker)  # restarted: arq's retry and the sweep both run it
    for person in (host, *guests):
        assert await kinds(client, person) == ["reminder_24h"]
        assert len(mail_to(mailbox, person)) == 1
    assert len(mailbox) == 6


async def test_two_workers_at_once_deliver_everything_exactly_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    clock: TestClock,
) -> None:
    host = await users.create()
    fans = await add_followers(db, host, 2200, with_email=20)
    guests = [await users.create() for _ in range(6)]
    start = clock.now + timedelta(hours=23)
    meetup = await meetups.create(host, event_time=start, tickets_count=10)
    event_ids = [
        await record_event(app, "announcement_created", announcement_id=meetup.id, actor_id=host.id)
    ]
    for guest in guests:
        booking = await meetups.book(meetup, guest)
        event_ids.append(
            await record_event(
                app, "booking_approved", announcement_id=meetup.id, booking_id=booking.id
            )
        )
    clock.set(start - timedelta(minutes=59))
    # Every job twice, under other ids (as a sweep would after a lost acknowledgement).
    redis = app.state.redis
    for event_id in event_ids:
        await redis.enqueue_job("process_event", str(event_id), _job_id=f"event:{event_id}:again")
    epoch = int(start.timestamp())
    for copy in ("a", "b"):
        await redis.enqueue_job(
            "send_reminder", str(meetup.id), "reminder_1h", epoch, _job_id=f"twice:{copy}"
        )

    await asyncio.gather(run_worker(), run_worker())

    async with db.sessionmaker() as session:
        duplicates = (
            await session.execute(
                select(Notification.user_id, Notification.kind, Notification.event_id)
                .group_by(Notification.user_id, Notification.kind, Notification.event_id)
                .having(text("count(*) > 1"))
            )
        ).all()
    assert duplicates == []
    assert await notification_count(db, Notification.kind == "new_announcement") == len(fans)
    assert await notification_count(db, Notification.kind == "booking_approved") == len(guests)
    assert await notification_count(db, Notification.kind == "reminder_1h") == 1 + len(guests)
    for guest in guests:
        assert sorted(m["Subject"].split(":")[0] for m in mail_to(mailbox, guest)) == [
            "Reminder",
            "You're in",
        ]
    fan_mail = [m for m in mailbox if str(m["To"]).startswith("fan-")]
    assert len(fan_mail) == 20
    assert len({str(m["To"]) for m in fan_mail}) == 20
    assert len(mail_to(mailbox, host)) == 1  # the host's reminder


async def test_meetup_moved_after_its_24h_reminder_was_scheduled_is_reminded_at_the_new_time(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    run_worker: RunWorker,
    mailbox: Mailbox,
    clock: TestClock,
) -> None:
    host = await users.create()
    created = await create_announcement(client, host)
    await run_worker()  # processes announcement_created: schedules the reminders
    old_start = datetime.fromisoformat(created["event_time"])
    old_epoch = int(old_start.timestamp())
    queued = {job.job_id for job in await app.state.redis.queued_jobs()}
    assert reminder_job_id("reminder_24h", created["id"], old_epoch) in queued

    new_start = old_start + timedelta(days=1, hours=3)
    moved = await client.patch(
        f"/api/v1/announcements/{created['id']}",
        headers=host.headers,
        json={"event_time": new_start.isoformat()},
    )
    assert moved.status_code == 200, moved.text
    await run_worker()
    new_epoch = int(new_start.timestamp())
    jobs = {job.job_id: job for job in await app.state.redis.queued_jobs()}
    new_job = jobs[reminder_job_id("reminder_24h", created["id"], new_epoch)]
    assert new_job.score == int((new_start - timedelta(hours=24)).timestamp() * 1000)

    # The old time comes: its job (run as arq would) and the sweep both do nothing.
    clock.set(old_start - timedelta(hours=24) + timedelta(seconds=30))
    ctx = worker_ctx(app)
    assert await send_reminder(ctx, created["id"], "reminder_24h", old_epoch) == "moved"
    await sweep_and_work(app, run_worker)
    assert await kinds(client, host) == []

    # The new time comes: reminded once, whichever path gets there first.
    clock.set(new_start - timedelta(hours=24) + timedelta(seconds=30))
    await sweep_and_work(app, run_worker)
    assert await send_reminder(ctx, created["id"], "reminder_24h", new_epoch) == "sent:0"
    [item] = (await inbox(client, host))["items"]
    assert item["kind"] == "reminder_24h"
    assert len(mail_to(mailbox, host)) == 1
