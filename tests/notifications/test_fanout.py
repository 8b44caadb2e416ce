"""new_announcement to many followers: in batches of 1 000 by follower id, the progress saved with
each batch, so a crash resumes after the last committed batch and nobody is told twice."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.core.db import Database
from app.models.notifications import Notification
from app.notifications import fanout
from tests.notifications.helpers import (
    BackgroundWorker,
    RunWorker,
    add_followers,
    email_count,
    event,
    notification_count,
    record_event,
    sweep_and_work,
    wait_for_blocked_insert,
)
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox


async def _per_follower(db: Database) -> dict[int, int]:
    """How many followers got how many new_announcement notifications."""
    async with db.sessionmaker() as session:
        per_user = (
            select(func.count().label("n"))
            .where(Notification.kind == "new_announcement")
            .group_by(Notification.user_id)
            .subquery()
        )
        rows = await session.execute(select(per_user.c.n, func.count()).group_by(per_user.c.n))
        return {n: users for n, users in rows.all()}


async def test_2500_followers_are_told_once_each_in_three_batches(
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host = await users.create()
    followers = await add_followers(db, host, 2500, with_email=5)
    meetup = await meetups.create(host)
    event_id = await record_event(
        app, "announcement_created", announcement_id=meetup.id, actor_id=host.id
    )
    await run_worker()

    done = await event(db, event_id)
    assert done.processed_at is not None
    assert done.cursor == str(max(followers))  # follower-id order: the last batch ended there
    assert await _per_follower(db) == {1: 2500}
    assert await email_count(db) == 5
    assert len(mailbox) == 5


async def test_a_fan_out_killed_mid_batch_resumes_after_the_last_committed_batch(
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host = await users.create()
    followers = sorted(await add_followers(db, host, 2500))
    meetup = await meetups.create(host)
    event_id = await record_event(
        app, "announcement_created", announcement_id=meetup.id, actor_id=host.id
    )
    # The second batch stalls on a follower's row (held by this test) and the worker dies there.
    async with db.engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT 1 FROM user_account WHERE id = :id FOR UPDATE"), {"id": followers[1500]}
        )
        worker = BackgroundWorker()
        await wait_for_blocked_insert(db, "notification")
        await worker.kill()
        await transaction.rollback()

    halfway = await event(db, event_id)
    assert halfway.processed_at is None
    assert halfway.cursor == str(followers[999])  # batch 1 committed, batch 2 rolled back
    assert await notification_count(db) == 1000

    # Restarted (and, for good measure, the sweep enqueues the event a second time).
    clock.advance(minutes=1)
    await sweep_and_work(app, run_worker)
    assert (await event(db, event_id)).processed_at is not None
    assert await _per_follower(db) == {1: 2500}


async def test_a_big_fan_out_hands_over_to_fresh_jobs_instead_of_holding_the_worker(
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "TIME_BUDGET_S", 0.0)  # every batch is over the budget
    host = await users.create()
    await add_followers(db, host, 2100)
    meetup = await meetups.create(host)
    event_id = await record_event(
        app, "announcement_created", announcement_id=meetup.id, actor_id=host.id
    )
    completed = await run_worker()
    # One job per batch, each handing over to the next, and the event's webhook dispatch.
    assert completed == 4
    assert (await event(db, event_id)).processed_at is not None
    assert await _per_follower(db) == {1: 2100}


async def test_the_fan_out_stops_when_the_announcement_is_cancelled(
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host = await users.create()
    await add_followers(db, host, 10)
    meetup = await meetups.create(host)
    await meetups.update(meetup.id, cancelled_at=clock.now)
    event_id = await record_event(
        app, "announcement_created", announcement_id=meetup.id, actor_id=host.id
    )
    await run_worker()
    assert (await event(db, event_id)).processed_at is not None
    assert await notification_count(db) == 0
