"""arq jobs of the webhooks domain: dispatching outbox events (app/webhooks/dispatch.py), sending
one delivery, and the minute sweep.

`deliver_webhook` first claims the delivery in a short transaction: a conditional UPDATE that
succeeds only while it is pending, due and not claimed (or its claim ran out), setting
`claimed_until = now + LEASE` and a fresh `claim_token`. Then it sends, holding no database
connection (a slow receiver costs a worker slot, never a connection), and records the outcome
with an UPDATE that matches the token, so a job whose lease ran out cannot overwrite a newer
attempt. Two jobs for one delivery (the deferred retry and the sweep's) cannot both send: one
claim wins. An attempt is capped at twice WEBHOOK_TIMEOUT_SECONDS, far below LEASE, and arq's
`job_timeout` (60 s) is below LEASE too.

A 2xx answer is a delivery. Anything else (another status, a timeout, a refused connection, an
address the SSRF rule refuses) is a failed attempt: the next one is due after `RETRY_DELAYS`
(each lengthened by up to 20 % of random jitter, never shortened: together at least 25 h 42 min)
and a deferred job is enqueued for it; after `MAX_ATTEMPTS` the delivery is `failed`. Redirects
are not followed (a 3xx is a failed attempt). Every delivery is its own job, so one slow
receiver holds up nothing but its own deliveries.

The sweep re-enqueues what the database says is due: pending deliveries past their time (by
`GRACE`) and not claimed, so a lost enqueue or a killed worker delays a delivery instead of
losing it.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlmodel import col

from app import __version__
from app.core import clock
from app.core.config import Settings, get_settings
from app.core.db import Database, Tx
from app.core.logging import get_logger
from app.events import DomainEvent
from app.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks import addresses, signing
from app.webhooks.dispatch import (
    DELIVER_JOB,
    GRACE,
    delivery_job_id,
    dispatch_webhooks,
    sweep_events,
)
from app.webhooks.errors import WebhookUrlRefused

log = get_logger(__name__)

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
LEASE = timedelta(minutes=2)
SWEEP_BATCH = 500
USER_AGENT = f"MovieMeetup-Webhooks/{__version__}"


def retry_delay(attempts: int) -> timedelta | None:
    """How long after the `attempts`-th failed attempt the next is due; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[max(attempts, 1) - 1]
    return base * (1 + random.uniform(0, JITTER))


def body_of(event: DomainEvent) -> str:
    """The JSON body of every delivery of `event` (the bytes that are signed)."""

    def text(value: uuid.UUID | None) -> str | None:
        return str(value) if value is not None else None

    return json.dumps(
        {
            "type": event.kind,
            "timestamp": event.created_at.astimezone(UTC).isoformat(),
            "data": {
                "id": str(event.id),
                "announcement_id": text(event.announcement_id),
                "booking_id": text(event.booking_id),
                "actor_id": text(event.actor_id),
                "payload": event.payload,
            },
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process (building one reads the CA bundle)."""
    return httpx.create_ssl_context()


async def _post(url: str, body: str, headers: dict[str, str], settings: Settings) -> int:
    """One attempt: the receiver's status code. Raises on no answer."""
    target = await addresses.check(url, settings)
    timeout = settings.webhook_timeout_seconds
    # A client per attempt: its connection goes to this receiver only (a pooled one opened for
    # another host on the same address must not carry this request).
    async with (
        asyncio.timeout(2 * timeout),
        httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            verify=_tls(),
        ) as client,
        client.stream(
            "POST",
            target.url,
            content=body.encode(),
            headers={**headers, **target.headers},
            extensions=target.extensions,
        ) as response,
    ):
        return response.status_code  # the body is never read


def _describe(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, WebhookUrlRefused):
        return f"refused: {exc.detail}"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timeout: no answer within {settings.webhook_timeout_seconds:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}" if str(exc) else "connection failed"
    return f"{type(exc).__name__}: {exc}"


async def _claim(
    db: Database, delivery_id: uuid.UUID, token: uuid.UUID
) -> tuple[WebhookDelivery, WebhookEndpoint, DomainEvent | None] | None:
    now = clock.now()
    async with db.sessionmaker() as session, session.begin():
        delivery = (
            await session.scalars(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery_id,
                    col(WebhookDelivery.status) == DeliveryStatus.pending,
                    col(WebhookDelivery.next_attempt_at) <= now,
                    or_(
                        col(WebhookDelivery.claimed_until).is_(None),
                        col(WebhookDelivery.claimed_until) <= now,
                    ),
                )
                .values(
                    claimed_until=now + LEASE,
                    claim_token=token,
                    attempts=col(WebhookDelivery.attempts) + 1,
                    last_attempt_at=now,
                    updated_at=now,
                )
                .returning(WebhookDelivery)
            )
        ).one_or_none()
        if delivery is None:
            return None
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        event = await session.get(DomainEvent, delivery.event_id)
        if endpoint is None:
            return None  # deleted a moment ago (its deliveries with it)
        return delivery, endpoint, event


async def _record(
    db: Database,
    redis: Any,
    delivery: WebhookDelivery,
    token: uuid.UUID,
    *,
    status_code: int | None,
    error: str | None,
    give_up: bool = False,
) -> str:
    now = clock.now()
    delivered = status_code is not None and 200 <= status_code < 300
    values: dict[str, Any] = {
        "last_status_code": status_code,
        "last_error": error[:2000] if error else None,
        "claimed_until": None,
        "claim_token": None,
        "updated_at": now,
    }
    delay = None if delivered or give_up else retry_delay(delivery.attempts)
    if delivered:
        values |= {"status": DeliveryStatus.delivered, "delivered_at": now, "next_attempt_at": None}
        outcome = "delivered"
    elif delay is None:
        values |= {"status": DeliveryStatus.failed, "next_attempt_at": None}
        outcome = "failed"
    else:
        values |= {"next_attempt_at": now + delay}
        outcome = "retry"
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=redis)
        async with session.begin():
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery.id,
                    col(WebhookDelivery.claim_token) == token,
                )
                .values(**values)
            )
            if not getattr(result, "rowcount", 0):
                return "claim_lost"  # deleted, or a later attempt took over
            if outcome == "retry":
                tx.enqueue_after_commit(
                    DELIVER_JOB,
                    str(delivery.id),
                    job_id=delivery_job_id(delivery.id, f"after:{token.hex[:12]}"),
                    defer_until=values["next_attempt_at"],
                )
        await tx.run_after_commit()
    log_method = log.info if outcome == "delivered" else log.warning
    log_method(
        "webhook_" + outcome,
        delivery_id=str(delivery.id),
        endpoint_id=str(delivery.endpoint_id),
        attempts=delivery.attempts,
        status_code=status_code,
        error=error,
    )
    return outcome


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> str:
    """Send one delivery once (see the module's docstring). Idempotent; safe with two workers."""
    db: Database = ctx["db"]
    settings: Settings = ctx.get("settings") or get_settings()
    token = uuid.uuid4()
    claimed = await _claim(db, uuid.UUID(delivery_id), token)
    if claimed is None:
        return "not_due"  # delivered, failed, not yet due, or being sent by another job
    delivery, endpoint, event = claimed
    if event is None:
        return await _record(
            db, ctx.get("redis"), delivery, token, status_code=None, error="event not found",
            give_up=True,
        )  # fmt: skip
    if not endpoint.active:
        return await _record(
            db, ctx.get("redis"), delivery, token, status_code=None,
            error="the endpoint is not active", give_up=True,
        )  # fmt: skip
    body = body_of(event)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.signed_headers(endpoint.secret, str(event.id), body, datetime.now(UTC)),
    }
    status_code: int | None = None
    error: str | None = None
    try:
        status_code = await _post(endpoint.url, body, headers, settings)
    except Exception as exc:  # any failure to get an answer is a failed attempt, recorded
        error = _describe(exc, settings)
    return await _record(
        db, ctx.get("redis"), delivery, token, status_code=status_code, error=error
    )


async def enqueue_due_deliveries(ctx: dict[str, Any]) -> int:
    """Re-enqueue pending deliveries past their time and not claimed (their job was lost). The
    job id names the minute; the claim keeps a duplicate job harmless."""
    db: Database = ctx["db"]
    now = clock.now()
    async with db.sessionmaker() as session:
        due = (
            await session.scalars(
                select(col(WebhookDelivery.id))
                .where(
                    col(WebhookDelivery.status) == DeliveryStatus.pending,
                    col(WebhookDelivery.next_attempt_at) <= now - GRACE,
                    or_(
                        col(WebhookDelivery.claimed_until).is_(None),
                        col(WebhookDelivery.claimed_until) <= now,
                    ),
                )
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(SWEEP_BATCH)
            )
        ).all()
    minute = int(now.timestamp()) // 60
    enqueued = 0
    for delivery_id in due:
        job = await ctx["redis"].enqueue_job(
            DELIVER_JOB, str(delivery_id), _job_id=delivery_job_id(delivery_id, f"sweep:{minute}")
        )
        enqueued += job is not None
    if enqueued:
        log.info("sweep_enqueued_webhook_deliveries", count=enqueued)
    return enqueued


async def sweep(ctx: dict[str, Any]) -> None:
    """Called by the worker's minute sweep: events not dispatched, deliveries due."""
    await sweep_events(ctx)
    await enqueue_due_deliveries(ctx)


FUNCTIONS: list[Any] = [dispatch_webhooks, deliver_webhook]
