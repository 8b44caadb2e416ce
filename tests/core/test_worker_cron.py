"""The production worker's minute sweep. Every other test's worker runs without cron jobs (the
`run_worker` fixture passes `cron_jobs=[]`), so these are the tests of the registration itself:
the production `WorkerSettings`, in arq's burst mode, run the sweep at startup, and the sweep
finds what no job was ever enqueued for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.cron import CronJob
from arq.worker import create_worker
from fastapi import FastAPI
from sqlalchemy import select

from app import worker as production
from app.core import clock
from app.core.config import get_settings
from app.core.db import Database
from app.core.redis import redis_settings
from app.core.shortcodes import new_code
from app.events import DomainEvent, EventKind
from app.mail.service import SEND_EMAIL_JOB
from app.models.announcements import Announcement, Approval
from app.models.bookings import Booking, BookingStatus
from app.models.mail import EmailMessage, EmailStatus
from app.models.notifications import Notification
from app.worker import WorkerSettings
from tests.support.factories import UserFactory
from tests.support.smtp import Mailbox


def _the_sweep() -> CronJob:
    jobs = WorkerSettings.cron_jobs
    assert len(jobs) == 1, jobs
    return jobs[0]


def test_the_production_worker_registers_the_sweep_every_minute_once_and_at_startup() -> None:
    sweep = _the_sweep()
    # The sweep itself, wrapped so that the job history counts its runs (app/jobs/stats.py).
    assert sweep.coroutine.__wrapped__ is production.sweep  # type: ignore[attr-defined]
    assert sweep.name == "cron:sweep"
    assert sweep.run_at_startup is True
    assert sweep.unique is True  # several workers: one run per minute between them
    assert sweep.second == {0}
    assert (sweep.month, sweep.day, sweep.weekday, sweep.hour, sweep.minute) == (None,) * 5
    start = datetime(2000, 1, 1, 12, 0, 30, tzinfo=UTC)
    runs = []
    sweep.calculate_next(start)
    for _ in range(3):
        assert sweep.next_run is not None
        runs.append(sweep.next_run)
        sweep.calculate_next(sweep.next_run)
    sweep.next_run = None  # the class attribute's job: leave it as arq finds it
    assert [(run.minute, run.second) for run in runs] == [(1, 0), (2, 0), (3, 0)]


def test_every_job_the_sweep_enqueues_is_a_function_of_the_production_worker() -> None:
    names = {getattr(f, "__qualname__", getattr(f, "name", None)) for f in WorkerSettings.functions}
    assert {SEND_EMAIL_JOB, "process_event", "expire_started_bookings"} <= names


async def _run_production_worker(seconds: float = 60) -> Any:
    """The production settings (their startup, shutdown, functions and cron jobs) in burst mode:
    the worker stops once its queue is empty."""
    worker = create_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(get_settings().redis_url or ""),
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
    )
    try:
        await asyncio.wait_for(worker.async_run(), seconds)
    finally:
        await worker.close()
    for cron_job in worker.cron_jobs:
        cron_job.next_run = None
    return worker


async def test_the_production_worker_sweeps_at_startup_what_no_job_was_enqueued_for(
    app: FastAPI, db: Database, users: UserFactory, mailbox: Mailbox
) -> None:
    """Three things only the sweep can find, written straight to the database with nothing
    enqueued: a pending email, an outbox event left unprocessed, a pending booking of a meetup
    that has started."""
    host, guest = await users.create(), await users.create()
    now = clock.now()
    started = Announcement(
        author_id=host.id,
        title="Stalker night",
        movie_title="Stalker",
        location="My place",
        event_time=now - timedelta(minutes=5),
        duration_minutes=120,
        ends_at=now + timedelta(minutes=115),
        tickets_count=4,
        approval=Approval.manual,
        short_code=new_code(),
    )
    email = EmailMessage(
        to_address="anna@example.com", subject="Lost enqueue", text_body="Hi", html_body="Hi"
    )
    async with db.sessionmaker() as session, session.begin():
        session.add_all([started, email])
        await session.flush()
        booking = Booking(
            announcement_id=started.id,
            guest_id=guest.id,
            seats=1,
            status=BookingStatus.pending,
            event_time=started.event_time,
            ends_at=started.ends_at,
            short_code=new_code(),
        )
        session.add(booking)
        await session.flush()
        event = DomainEvent(
            kind=EventKind.booking_requested,
            announcement_id=started.id,
            booking_id=booking.id,
            actor_id=guest.id,
            created_at=now - timedelta(minutes=10),  # its after-commit job is long lost
        )
        session.add(event)

    worker = await _run_production_worker()

    assert worker.jobs_failed == 0
    assert [m["Subject"] for m in mailbox.to("anna@example.com")] == ["Lost enqueue"]
    async with db.sessionmaker() as session:
        assert (await session.get(EmailMessage, email.id)).status == EmailStatus.sent  # type: ignore[union-attr]
        assert (await session.get(Booking, booking.id)).status == BookingStatus.expired  # type: ignore[union-attr]
        assert (await session.get(DomainEvent, event.id)).processed_at is not None  # type: ignore[union-attr]
        kinds = set(
            await session.scalars(
                select(Notification.kind).where(Notification.user_id.in_([host.id, guest.id]))  # type: ignore[attr-defined]
            )
        )
    # The event the sweep found (to the host) and the one the expiry wrote (to the guest).
    assert {"booking_requested", "booking_expired"} <= kinds
