"""What the API does while Redis is down.

Redis holds only the job queue and rate-limit counters; who is signed in lives in PostgreSQL.
So while it is down: authentication, reads and bookings keep working (a job that could not be
enqueued waits in PostgreSQL for the worker's sweep); register, confirm, resend and forgot-password
skip their rate limits (fail open); login and password reset refuse with 503
`rate_limiter_unavailable` (fail closed: an unthrottled password guesser is worse than a short
outage).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.core.config import get_settings
from app.core.db import Database
from app.events import DomainEvent
from app.models.mail import EmailMessage, EmailStatus
from app.worker import sweep
from tests.auth.helpers import PASSWORD, bearer, code_in
from tests.bookings.conftest import MakeAnnouncement
from tests.hardening.conftest import OwnRedis
from tests.support.factories import UserFactory
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]


async def run_sweep_and_worker(app: FastAPI, run_worker: RunWorker) -> None:
    """The worker's minute sweep, then the worker (both on the suite's own, running Redis)."""
    await sweep({"db": app.state.db, "redis": app.state.redis, "settings": get_settings()})
    await run_worker()


async def test_signed_in_user_reads_and_refreshes_while_redis_is_down(
    own_redis: OwnRedis, users: UserFactory
) -> None:
    member = await users.create()
    host = await users.create()
    assert member.tokens is not None
    own_redis.redis.stop()
    http = own_redis.client

    me = await http.get("/api/v1/auth/me", headers=member.headers)
    profile = await http.get(f"/api/v1/users/{host.id}")
    followers = await http.get(f"/api/v1/users/{host.id}/followers", headers=member.headers)
    follow = await http.put(f"/api/v1/users/{host.id}/follow", headers=member.headers)
    refreshed = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": member.tokens.refresh_token}
    )
    assert (me.status_code, profile.status_code, followers.status_code) == (200, 200, 200)
    assert follow.status_code == 204
    assert refreshed.status_code == 200
    new_access = refreshed.json()["access_token"]
    assert (await http.get("/api/v1/auth/me", headers=bearer(new_access))).status_code == 200
    logout = await http.post("/api/v1/auth/logout", headers=bearer(new_access))
    assert logout.status_code == 204
    assert (await http.get("/api/v1/auth/me", headers=bearer(new_access))).status_code == 401


async def test_login_fails_closed_while_redis_is_down(
    own_redis: OwnRedis, users: UserFactory
) -> None:
    member = await users.create()
    own_redis.redis.stop()
    for response in (
        await own_redis.client.post(
            "/api/v1/auth/login", json={"email": member.email, "password": PASSWORD}
        ),
        await own_redis.client.post(
            "/api/v1/auth/token", data={"username": member.email, "password": PASSWORD}
        ),
    ):
        assert response.status_code == 503
        assert response.json()["code"] == "rate_limiter_unavailable"
    own_redis.redis.start()
    recovered = await own_redis.client.post(
        "/api/v1/auth/login", json={"email": member.email, "password": PASSWORD}
    )
    assert recovered.status_code == 200


async def test_password_reset_fails_closed_while_redis_is_down(
    own_redis: OwnRedis, users: UserFactory
) -> None:
    await users.create()
    own_redis.redis.stop()
    response = await own_redis.client.post(
        "/api/v1/auth/password/reset",
        json={"token": "any-token-at-all", "new_password": "a brand new password"},
    )
    assert response.status_code == 503
    assert response.json()["code"] == "rate_limiter_unavailable"


async def test_register_confirm_and_forgot_fail_open_and_their_emails_wait_for_the_sweep(
    own_redis: OwnRedis,
    app: FastAPI,
    db: Database,
    mailbox: Mailbox,
    run_worker: RunWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    own_redis.redis.stop()
    http = own_redis.client
    email = "offline@example.com"
    with caplog.at_level(logging.WARNING):
        registered = await http.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Off"}
        )
    assert registered.status_code == 201
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "rate_limit_redis_down" in messages
    assert "after_commit_enqueue_failed" in messages  # the email job could not be enqueued
    async with db.sessionmaker() as session:
        statuses = (await session.scalars(select(EmailMessage.status))).all()
    assert statuses == [EmailStatus.pending]

    # The sweep finds the pending email once a worker runs (on a Redis that works).
    await run_sweep_and_worker(app, run_worker)
    code = code_in(mailbox, email)
    confirmed = await http.post("/api/v1/auth/confirm", json={"email": email, "code": code})
    assert confirmed.status_code == 200
    assert confirmed.json()["is_confirmed"] is True
    resend = await http.post("/api/v1/auth/confirm/resend", json={"email": email})
    forgot = await http.post("/api/v1/auth/password/forgot", json={"email": email})
    assert (resend.status_code, forgot.status_code) == (202, 202)


async def test_booking_is_created_while_redis_is_down_and_its_event_waits_for_the_sweep(
    own_redis: OwnRedis,
    users: UserFactory,
    make_announcement: MakeAnnouncement,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = await users.create()
    guest = await users.create()
    announcement = await make_announcement(host, tickets_count=3)
    own_redis.redis.stop()
    http = own_redis.client

    with caplog.at_level(logging.WARNING):
        booked = await http.post(
            f"/api/v1/announcements/{announcement.id}/bookings",
            headers={**guest.headers, "Idempotency-Key": "offline-1"},
            json={"seats": 2},
        )
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "approved"
    assert "after_commit_enqueue_failed" in " ".join(r.getMessage() for r in caplog.records)

    # The outbox row is committed and unprocessed: the worker's sweep will deliver it.
    async with db.sessionmaker() as session:
        events = (await session.scalars(select(DomainEvent))).all()
    assert [(e.kind, e.processed_at) for e in events] == [("booking_approved", None)]

    # Reads, the idempotent replay, the host's view and a cancellation all still work.
    replay = await http.post(
        f"/api/v1/announcements/{announcement.id}/bookings",
        headers={**guest.headers, "Idempotency-Key": "offline-1"},
        json={"seats": 2},
    )
    assert replay.status_code == 201
    assert replay.json()["id"] == booked.json()["id"]
    mine = await http.get("/api/v1/bookings", headers=guest.headers)
    assert mine.json()["total"] == 1
    hosted = await http.get(
        f"/api/v1/announcements/{announcement.id}/bookings", headers=host.headers
    )
    assert hosted.status_code == 200
    cancelled = await http.post(
        f"/api/v1/bookings/{booked.json()['id']}/cancel", headers=guest.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


async def test_redis_restart_under_load_fails_login_fast_then_recovers_by_itself(
    own_redis: OwnRedis, users: UserFactory
) -> None:
    member = await users.create()
    http = own_redis.client
    results: list[tuple[str, str, int, str | None, float]] = []
    phase = "before"
    stopping = asyncio.Event()

    async def hammer(kind: str) -> None:
        while not stopping.is_set():
            started_in, started = phase, time.monotonic()
            if kind == "login":
                response = await http.post(
                    "/api/v1/auth/login", json={"email": member.email, "password": PASSWORD}
                )
            else:
                response = await http.get("/api/v1/auth/me", headers=member.headers)
            code = response.json().get("code") if response.status_code >= 400 else None
            seen_in = started_in if started_in == phase else "transition"
            results.append((seen_in, kind, response.status_code, code, time.monotonic() - started))
            await asyncio.sleep(0.01)

    async def until(count: int, in_phase: str) -> None:
        deadline = time.monotonic() + 60
        while sum(1 for r in results if r[0] == in_phase) < count:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(hammer(kind)) for kind in ("login", "me", "login", "me")]
    try:
        await until(20, "before")
        phase = "stopping"
        await asyncio.to_thread(own_redis.redis.stop)
        phase = "down"
        await until(20, "down")
        phase = "starting"
        await asyncio.to_thread(own_redis.redis.start)
        phase = "after"
        await until(20, "after")
    finally:
        stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    def seen(in_phase: str, kind: str) -> set[tuple[int, str | None]]:
        return {(r[2], r[3]) for r in results if r[0] == in_phase and r[1] == kind}

    assert seen("before", "login") == seen("before", "me") == {(200, None)}
    assert seen("down", "login") == {(503, "rate_limiter_unavailable")}
    assert seen("down", "me") == {(200, None)}
    assert max(r[4] for r in results if r[0] == "down") < 3.0  # refused fast, not hanging
    for between in ("stopping", "starting", "transition"):
        assert seen(between, "login") <= {(200, None), (503, "rate_limiter_unavailable")}
        assert seen(between, "me") <= {(200, None)}
    assert seen("after", "login") == seen("after", "me") == {(200, None)}
    assert (await http.get("/ready")).status_code == 200
