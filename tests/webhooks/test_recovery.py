"""Nothing is lost: events whose dispatch job was never enqueued, deliveries whose job was lost,
and a worker killed while sending are all caught up by the minute sweep."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI

from app import events
from app.core.db import Tx
from app.models.webhooks import DeliveryStatus
from app.webhooks import dispatch, tasks
from tests.notifications.helpers import BackgroundWorker, RunWorker, run_sweep, worker_ctx
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.webhooks.helpers import Receiver, deliveries, register

KIND = "booking_cancelled"


async def _event_without_jobs(app: FastAPI) -> uuid.UUID:
    """An outbox event whose after-commit enqueues were lost (as with Redis down)."""
    async with app.state.db.sessionmaker() as session:
        tx = Tx(session, redis=None)
        async with session.begin():
            event = await events.record(tx, KIND, payload={"by": "host"})
    return event.id


async def test_events_whose_job_was_lost_are_dispatched_by_the_sweep_in_batches(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "BATCH", 2)
    await register(client, await users.admin(), receiver.url(), [KIND])
    clock.advance(seconds=1)
    lost = [await _event_without_jobs(app) for _ in range(5)]
    await run_worker()
    assert receiver.received == [] and await deliveries(app) == []
    await run_sweep(app)  # too young: their jobs may still be on the way
    assert await deliveries(app) == []

    clock.advance(minutes=1)
    await run_sweep(app)
    await run_worker()
    assert sorted(receiver.ids()) == sorted(str(e) for e in lost)
    clock.advance(minutes=30)  # later sweeps find nothing new
    await run_sweep(app)
    await run_worker()
    assert len(receiver.received) == 5


async def test_a_delivery_whose_job_was_lost_is_sent_by_the_sweep(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    await register(client, await users.admin(), receiver.url(), [KIND])
    clock.advance(seconds=1)
    event_id = await _event_without_jobs(app)
    await dispatch.dispatch_webhooks({**worker_ctx(app), "redis": None}, str(event_id))
    [row] = await deliveries(app)
    assert row.status == DeliveryStatus.pending
    await run_worker()
    assert receiver.received == []
    clock.advance(minutes=1)
    await run_sweep(app)
    await run_worker()
    assert receiver.ids() == [str(event_id)]


async def test_a_worker_killed_while_sending_leaves_the_delivery_to_the_sweep(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    await register(client, await users.admin(), receiver.url(), [KIND])
    clock.advance(seconds=1)
    receiver.delay = 3.0
    worker = BackgroundWorker()
    try:
        async with app.state.db.sessionmaker() as session:
            tx = Tx(session, redis=app.state.redis)
            async with session.begin():
                event = await events.record(tx, KIND)
            await tx.run_after_commit()
        for _ in range(500):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        assert receiver.received
    finally:
        await worker.kill()  # mid-request: the answer never comes back to it
    [row] = await deliveries(app)
    assert (row.status, row.attempts) == (DeliveryStatus.pending, 1)
    assert row.claimed_until is not None and row.claimed_until > clock.now

    receiver.delay = 0
    clock.advance(minutes=1)  # still claimed: the sweep leaves it alone
    await run_sweep(app)
    await run_worker()
    assert len(receiver.received) == 1
    clock.advance(tasks.LEASE)
    await run_sweep(app)
    await run_worker()
    # At least once: the receiver saw it twice, with the same webhook-id to deduplicate on.
    assert receiver.ids() == [str(event.id)] * 2
    [row] = await deliveries(app)
    assert (row.status, row.attempts) == (DeliveryStatus.delivered, 2)
