"""From the outbox to deliveries: each event is matched once against the active endpoints that
subscribed to its kind (and existed when it happened), giving one `WebhookDelivery` per (event,
endpoint), whose jobs are enqueued after commit.

Once: the event's `WebhookEventDispatch` row is inserted `ON CONFLICT DO NOTHING` in the
transaction that writes its deliveries, so of two workers dispatching the same event the second
waits for the first's commit and then finds it done. Exactly one delivery per (event, endpoint)
is the unique constraint's job, with `ON CONFLICT DO NOTHING` again, whatever happens.

Nothing is lost: `events.enqueue_processing` enqueues `dispatch_webhooks` with every event; if that
enqueue is lost (Redis down, a killed process), the minute sweep finds the event. It reads the
events created since its cursor minus `MARGIN` (at least `GRACE` old, so the job has had its
turn) that have no dispatch row, oldest first, in batches, then moves the cursor. The margin
covers a transaction that commits its event late; dispatch rows older than the cursor minus the
margin are no longer read and are deleted, so that table stays small.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.core import clock
from app.core.db import Database, Tx
from app.core.logging import get_logger
from app.events import DomainEvent
from app.models.webhooks import WebhookEventDispatch, WebhookSweepCursor

log = get_logger(__name__)

DELIVER_JOB = "deliver_webhook"
GRACE = timedelta(seconds=30)
MARGIN = timedelta(minutes=10)
BATCH = 500
TIME_BUDGET_S = 10.0

# The deliveries of the events just claimed: active endpoints subscribed to the kind, registered
# before the event happened.
_DELIVERIES = text(
    """
    INSERT INTO webhook_delivery (id, created_at, updated_at, endpoint_id, event_id, event_kind,
                                  status, attempts, next_attempt_at)
    SELECT gen_random_uuid(), CAST(:now AS timestamptz), CAST(:now AS timestamptz), ep.id, ev.id,
           ev.kind, CAST('pending' AS webhook_delivery_status), 0, CAST(:now AS timestamptz)
    FROM domain_event ev
    JOIN webhook_endpoint ep
      ON ep.active AND ev.kind = ANY (ep.events) AND ep.created_at <= ev.created_at
    WHERE ev.id = ANY (:event_ids)
    ON CONFLICT (event_id, endpoint_id) DO NOTHING
    RETURNING id
    """
)


# Claims the events: the first transaction to insert an event's row dispatches it.
_CLAIM = text(
    """
    INSERT INTO webhook_event_dispatch (event_id, event_created_at, dispatched_at)
    SELECT id, created_at, CAST(:now AS timestamptz) FROM domain_event WHERE id = ANY (:event_ids)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
    """
)


def delivery_job_id(delivery_id: uuid.UUID | str, suffix: str = "") -> str:
    return f"webhook-delivery:{delivery_id}{':' + suffix if suffix else ''}"


async def dispatch_in(tx: Tx, event_ids: Sequence[uuid.UUID]) -> int:
    """Dispatch those of `event_ids` not yet dispatched, in `tx`; the deliveries' jobs are
    enqueued after its commit. Returns how many deliveries were written."""
    if not event_ids:
        return 0
    now = clock.now()
    session = tx.session
    claimed = (await session.scalars(_CLAIM, {"now": now, "event_ids": list(event_ids)})).all()
    if not claimed:
        return 0
    deliveries = (
        await session.scalars(_DELIVERIES, {"now": now, "event_ids": list(claimed)})
    ).all()
    for delivery_id in deliveries:
        tx.enqueue_after_commit(DELIVER_JOB, str(delivery_id), job_id=delivery_job_id(delivery_id))
    return len(deliveries)


async def dispatch_webhooks(ctx: dict[str, Any], event_id: str) -> str:
    """The job enqueued with every outbox event. Idempotent; safe with two workers."""
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=ctx.get("redis"))
        async with session.begin():
            written = await dispatch_in(tx, [uuid.UUID(event_id)])
        await tx.run_after_commit()
    if written:
        log.info("webhooks_dispatched", event_id=event_id, deliveries=written)
    return f"{written} deliveries"


async def _cursor(tx: Tx) -> WebhookSweepCursor | None:
    """The cursor row, locked; None while another sweep holds it. Created at the oldest event
    (or now) if missing (the migration creates it at its own time)."""
    session = tx.session
    oldest = select(col(DomainEvent.created_at)).order_by(col(DomainEvent.created_at)).limit(1)
    start = (await session.scalar(oldest)) or clock.now()
    await session.execute(
        insert(WebhookSweepCursor)
        .values(id=1, swept_until=start)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return await session.get(
        WebhookSweepCursor, 1, with_for_update={"skip_locked": True}, populate_existing=True
    )


async def sweep_events(ctx: dict[str, Any]) -> int:
    """Dispatch the events whose job was lost; returns how many events it found."""
    db: Database = ctx["db"]
    started = time.monotonic()
    found = 0
    while True:
        until = clock.now() - GRACE
        async with db.sessionmaker() as session:
            tx = Tx(session, redis=ctx.get("redis"))
            async with session.begin():
                cursor = await _cursor(tx)
                if cursor is None:
                    return found  # another worker is sweeping
                since = cursor.swept_until - MARGIN
                rows = (
                    await session.execute(
                        select(col(DomainEvent.id), col(DomainEvent.created_at))
                        .where(
                            col(DomainEvent.created_at) >= since,
                            col(DomainEvent.created_at) < until,
                            ~exists().where(
                                col(WebhookEventDispatch.event_id) == col(DomainEvent.id)
                            ),
                        )
                        .order_by(col(DomainEvent.created_at))
                        .limit(BATCH)
                    )
                ).all()
                await dispatch_in(tx, [event_id for event_id, _ in rows])
                done = len(rows) < BATCH
                reached = until if done else rows[-1][1]
                if reached > cursor.swept_until:
                    cursor.swept_until = reached
                await session.execute(
                    delete(WebhookEventDispatch).where(
                        col(WebhookEventDispatch.event_created_at) < cursor.swept_until - MARGIN
                    )
                )
            await tx.run_after_commit()
        found += len(rows)
        if done or time.monotonic() - started > TIME_BUDGET_S:
            break
    if found:
        log.info("sweep_dispatched_webhook_events", count=found)
    return found
