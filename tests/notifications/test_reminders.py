"""Reminders 24 h and 1 h before the start, and the review invitation after the end.

arq defers jobs by the real time, so these tests drive the reminders through the worker's minute
sweep (the safety net that alone must be enough) with the test clock, and check separately that
processing an announcement schedules the punctual deferred jobs."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.models.bookings import BookingStatus
from app.models.notifications import Notification
from app.notifications.reminders import reminder_job_id, send_reminder, send_review_invitations
from tests.notifications.helpers import (
    RunWorker,
    ics_of,
    inbox,
    kinds,
    mail_to,
    notification_count,
    record_event,
    run_sweep,
    sweep_and_work,
    worker_ctx,
)
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox


async def test_reminders_reach_the_host_and_approved_guests_at_24h_and_1h(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    clock: TestClock,
) -> None:
    host, guest, pending, gone, bystander = [await users.create() for _ in range(5)]
    start = clock.now + timedelta(days=2)
    meetup = await meetups.create(host, event_time=start, timezone="Europe/Berlin")
    await meetups.book(meetup, guest)
    await meetups.book(meetup, pending, BookingStatus.pending)
    await meetups.book(meetup, gone, BookingStatus.cancelled)

    clock.set(start - timedelta(hours=24, seconds=30))
    await sweep_and_work(app, run_worker)
    assert await notification_count(app.state.db) == 0  # not yet

    clock.set(start - timedelta(hours=24) + timedelta(seconds=20))
    await sweep_and_work(app, run_worker)
    for person in (host, guest):
        [item] = (await inbox(client, person))["items"]
        assert item["kind"] == "reminder_24h"
        assert "starts in 24 hours" in item["title"]
        assert item["announcement_id"] == str(meetup.id)
        [message] = mail_to(mailbox, person)
        assert "(Europe/Berlin)" in mailbox.text_of(message)
        assert ics_of(message) is not None
    assert (await inbox(client, guest))["items"][0]["booking_id"] is not None
    for person in (pending, gone, bystander):
        assert await kinds(client, person) == []

    clock.advance(minutes=5)
    await sweep_and_work(app, run_worker)  # a second sweep finds nothing left to do
    assert await notification_count(app.state.db) == 2

    clock.set(start - timedelta(minutes=59))
    await sweep_and_work(app, run_worker)
    for person in (host, guest):
        assert await kinds(client, person) == ["reminder_1h", "reminder_24h"]
        assert "starts in 59 minutes" in (await inbox(client, person))["items"][0]["title"]
    assert len(mailbox) == 4


async def test_guest_approved_after_the_due_time_gets_only_the_later_reminder(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host, early, late = [await users.create() for _ in range(3)]
    start = clock.now + timedelta(days=2)
    meetup = await meetups.create(host, event_time=start)
    await meetups.book(meetup, early)
    await meetups.book(meetup, late, approved_at=start - timedelta(hours=23))

    clock.set(start - timedelta(hours=22))  # the worker was down at the 24 h mark
    await sweep_and_work(app, run_worker)
    assert await kinds(client, early) == ["reminder_24h"]
    assert await kinds(client, late) == []

    clock.set(start - timedelta(minutes=30))
    await sweep_and_work(app, run_worker)
    assert await kinds(client, late) == ["reminder_1h"]
    assert await kinds(client, early) == ["reminder_1h", "reminder_24h"]


async def test_meetup_announced_less_than_a_day_ahead_gets_no_24h_reminder(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host = await users.create()
    start = clock.now + timedelta(hours=10)
    await meetups.create(host, event_time=start)
    clock.advance(hours=2)
    await sweep_and_work(app, run_worker)
    clock.set(start - timedelta(minutes=50))
    await sweep_and_work(app, run_worker)
    assert await kinds(client, host) == ["reminder_1h"]


async def test_cancelled_or_started_meetups_get_no_reminders(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    start = clock.now + timedelta(days=2)
    cancelled = await meetups.create(host, event_time=start, title="Cancelled")
    await meetups.book(cancelled, guest)
    await meetups.update(cancelled.id, cancelled_at=clock.now)
    started = await meetups.create(host, event_time=start + timedelta(hours=1), title="Started")
    await meetups.book(started, guest)

    clock.set(start + timedelta(hours=1, minutes=1))  # the worker was down until after both began
    await sweep_and_work(app, run_worker)
    assert await kinds(client, host) == []
    assert await kinds(client, guest) == []
    # The job itself refuses too, whoever enqueued it.
    epoch = int(started.event_time.timestamp())
    assert await send_reminder(worker_ctx(app), str(started.id), "reminder_1h", epoch) == (
        "started"
    )
    epoch = int(cancelled.event_time.timestamp())
    assert await send_reminder(worker_ctx(app), str(cancelled.id), "reminder_1h", epoch) == (
        "cancelled"
    )


async def test_processing_an_announcement_schedules_punctual_reminder_jobs(
    app: FastAPI, users: UserFactory, meetups: Meetups, run_worker: RunWorker, clock: TestClock
) -> None:
    host = await users.create()
    start = clock.now + timedelta(days=3)
    meetup = await meetups.create(host, event_time=start)
    await record_event(app, "announcement_created", announcement_id=meetup.id, actor_id=host.id)
    await run_worker()

    queued = {job.job_id: job for job in await app.state.redis.queued_jobs()}
    epoch = int(start.timestamp())
    day_before = queued[reminder_job_id("reminder_24h", meetup.id, epoch)]
    hour_before = queued[reminder_job_id("reminder_1h", meetup.id, epoch)]
    assert day_before.function == hour_before.function == "send_reminder"
    assert day_before.args == (str(meetup.id), "reminder_24h", epoch)
    assert day_before.score == int((start - timedelta(hours=24)).timestamp() * 1000)
    assert hour_before.score == int((start - timedelta(hours=1)).timestamp() * 1000)


async def test_reminder_job_runs_only_at_its_time_and_only_once(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, meetups: Meetups, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    start = clock.now + timedelta(days=2)
    meetup = await meetups.create(host, event_time=start)
    await meetups.book(meetup, guest)
    ctx, epoch = worker_ctx(app), int(start.timestamp())

    assert await send_reminder(ctx, str(meetup.id), "reminder_24h", epoch) == "not_due"
    clock.set(start - timedelta(hours=23))
    assert await send_reminder(ctx, str(meetup.id), "reminder_24h", epoch - 3600) == "moved"
    assert await send_reminder(ctx, str(meetup.id), "reminder_24h", epoch) == "sent:2"
    assert await send_reminder(ctx, str(meetup.id), "reminder_24h", epoch) == "sent:0"
    assert await notification_count(app.state.db, Notification.kind == "reminder_24h") == 2


async def test_review_invitation_goes_once_after_the_end_to_host_and_approved_guests(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    clock: TestClock,
) -> None:
    host, guest, pending, bystander = [await users.create() for _ in range(4)]
    start = clock.now + timedelta(hours=3)
    meetup = await meetups.create(host, event_time=start, duration_minutes=90)
    await meetups.book(meetup, guest)
    await meetups.book(meetup, pending, BookingStatus.pending)
    ends = start + timedelta(minutes=90)

    clock.set(ends - timedelta(seconds=10))
    await sweep_and_work(app, run_worker)
    assert "review_invitation" not in await kinds(client, host)

    clock.set(ends + timedelta(seconds=40))  # the next minute's sweep
    await sweep_and_work(app, run_worker)
    host_item = (await inbox(client, host))["items"][0]
    guest_item = (await inbox(client, guest))["items"][0]
    assert host_item["kind"] == guest_item["kind"] == "review_invitation"
    assert "Rate your guests" in host_item["title"]
    assert "Rate your host" in guest_item["title"]
    assert "review_invitation" not in await kinds(client, pending)
    assert await kinds(client, bystander) == []
    invitations = [m for m in mailbox if "Rate your" in str(m["Subject"])]
    assert len(invitations) == 2

    clock.advance(minutes=1)
    await sweep_and_work(app, run_worker)
    assert await notification_count(app.state.db, Notification.kind == "review_invitation") == 2


async def test_cancelled_meetup_gets_no_review_invitation(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host = await users.create()
    start = clock.now + timedelta(hours=3)
    meetup = await meetups.create(host, event_time=start)
    await meetups.update(meetup.id, cancelled_at=clock.now)
    clock.set(meetup.ends_at + timedelta(minutes=1))
    await sweep_and_work(app, run_worker)
    assert await kinds(client, host) == []


async def test_the_sweep_reschedules_punctual_jobs_that_redis_lost(
    app: FastAPI, users: UserFactory, meetups: Meetups, run_worker: RunWorker, clock: TestClock
) -> None:
    host = await users.create()
    start = clock.now + timedelta(days=2)
    meetup = await meetups.create(host, event_time=start)
    await record_event(app, "announcement_created", announcement_id=meetup.id, actor_id=host.id)
    await run_worker()
    await app.state.redis.flushdb()  # Redis restarted without its data: the deferred jobs are gone

    epoch = int(start.timestamp())
    clock.set(start - timedelta(hours=24, minutes=30))
    await run_sweep(app)
    queued = {job.job_id: job for job in await app.state.redis.queued_jobs()}
    day_before = queued[reminder_job_id("reminder_24h", meetup.id, epoch)]
    assert day_before.score == int((start - timedelta(hours=24)).timestamp() * 1000)
    assert reminder_job_id("reminder_1h", meetup.id, epoch) not in queued  # not due for a day


async def test_meetup_without_approved_guests_gets_no_review_invitation(
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host, pending = await users.create(), await users.create()
    meetup = await meetups.create(host, event_time=clock.now + timedelta(hours=3))
    await meetups.book(meetup, pending, BookingStatus.pending)
    clock.set(meetup.ends_at + timedelta(minutes=1))
    await sweep_and_work(app, run_worker)
    assert "review_invitation" not in await kinds(client, host)
    assert await send_review_invitations(worker_ctx(app), str(meetup.id)) == "no_guests"
