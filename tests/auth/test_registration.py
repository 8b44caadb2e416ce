"""Sign-up, email confirmation codes, resend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx

from tests.auth.helpers import PASSWORD, code_in, login, register
from tests.support.clock import TestClock
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]


async def test_register_returns_unconfirmed_user_without_secrets(client: httpx.AsyncClient) -> None:
    response = await register(client, "ann@example.com", "Ann")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["name"] == "Ann"
    assert body["is_confirmed"] is False
    assert body["email_notifications"] is True
    assert body["role"] == "member"
    assert body["host_rating"] == {"average": None, "count": 0}
    assert "password" not in response.text and "hash" not in response.text


async def test_registering_an_email_twice_in_other_case_is_email_taken(
    client: httpx.AsyncClient,
) -> None:
    assert (await register(client, "ann@example.com")).status_code == 201
    response = await register(client, "ANN@Example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


async def test_two_simultaneous_registrations_of_one_email_create_one_account(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(*(register(client, "race@example.com") for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]


async def test_password_length_is_8_to_128(client: httpx.AsyncClient) -> None:
    for password in ("short", "x" * 129):
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": "p@example.com", "password": password, "name": "P"},
        )
        assert response.status_code == 422
    response = await client.post(
        "/api/v1/auth/register", json={"email": "p@example.com", "password": "x" * 128, "name": "P"}
    )
    assert response.status_code == 201


async def test_emailed_code_confirms_the_account_and_login_then_works(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    await register(client, "ann@example.com")
    assert (await login(client, "ann@example.com")).json()["code"] == "email_not_confirmed"
    await run_worker()
    message = mailbox.to("ann@example.com")[-1]
    assert "confirmation code" in message["Subject"]
    code = code_in(mailbox, "ann@example.com")

    response = await client.post(
        "/api/v1/auth/confirm", json={"email": "ann@example.com", "code": code}
    )
    assert response.status_code == 200
    assert response.json()["is_confirmed"] is True
    assert (await login(client, "ann@example.com")).status_code == 200


async def test_wrong_code_is_invalid_and_five_misses_burn_the_code(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    await register(client, "ann@example.com")
    await run_worker()
    code = code_in(mailbox, "ann@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = await client.post(
            "/api/v1/auth/confirm", json={"email": "ann@example.com", "code": wrong}
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_code"
    response = await client.post(
        "/api/v1/auth/confirm", json={"email": "ann@example.com", "code": code}
    )
    assert response.status_code == 400


async def test_code_expires_after_a_day(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker, clock: TestClock
) -> None:
    await register(client, "ann@example.com")
    await run_worker()
    clock.advance(timedelta(hours=24, seconds=1))
    response = await client.post(
        "/api/v1/auth/confirm",
        json={"email": "ann@example.com", "code": code_in(mailbox, "ann@example.com")},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"


async def test_confirm_for_unknown_email_is_invalid_code(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/confirm", json={"email": "nobody@example.com", "code": "123456"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"


async def test_resend_is_202_for_anyone_and_only_the_new_code_works(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    unknown = await client.post("/api/v1/auth/confirm/resend", json={"email": "x@example.com"})
    assert unknown.status_code == 202
    await register(client, "ann@example.com")
    await run_worker()
    old_code = code_in(mailbox, "ann@example.com")
    known = await client.post("/api/v1/auth/confirm/resend", json={"email": "ann@example.com"})
    assert known.status_code == 202
    assert known.json() == unknown.json()
    await run_worker()
    new_code = code_in(mailbox, "ann@example.com")
    assert len(mailbox.to("ann@example.com")) == 2
    assert len(mailbox.to("x@example.com")) == 0
    if old_code != new_code:
        stale = await client.post(
            "/api/v1/auth/confirm", json={"email": "ann@example.com", "code": old_code}
        )
        assert stale.status_code == 400
    fresh = await client.post(
        "/api/v1/auth/confirm", json={"email": "ann@example.com", "code": new_code}
    )
    assert fresh.status_code == 200


async def test_register_is_rate_limited_per_ip(client: httpx.AsyncClient, clock: TestClock) -> None:
    """On the test clock: a fixed minute window must not roll over in the middle of the burst."""
    statuses = [(await register(client, f"u{i}@example.com")).status_code for i in range(31)]
    assert statuses[:30] == [201] * 30
    limited = await register(client, "late@example.com")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


async def test_confirmation_email_is_not_sent_inside_the_request(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """The request only queues it; a slow or dead SMTP server cannot slow or fail sign-up."""
    assert (await register(client, "ann@example.com")).status_code == 201
    assert mailbox.to("ann@example.com") == []


async def test_email_survives_smtp_refusal_and_goes_out_on_retry(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker, smtp_sink, clock: TestClock
) -> None:
    from app.worker import sweep

    await register(client, "ann@example.com")
    smtp_sink.refuse = True
    try:
        await run_worker()
    finally:
        smtp_sink.refuse = False
    assert mailbox.to("ann@example.com") == []
    # The retry is deferred with backoff; the sweep (the safety net) picks it up once due.
    clock.advance(timedelta(minutes=5))
    from arq.connections import ArqRedis

    from app.core.config import get_settings
    from app.core.db import Database
    from app.core.redis import create_redis

    settings = get_settings()
    redis: ArqRedis = create_redis(settings.redis_url or "")
    db = Database.from_url(settings.database_url or "", settings)
    try:
        await redis.flushdb()  # as if the deferred retry job had been lost with Redis
        await sweep({"db": db, "redis": redis, "settings": settings})
    finally:
        await db.dispose()
        await redis.aclose()
    await run_worker()
    assert len(mailbox.to("ann@example.com")) == 1
    assert PASSWORD not in Mailbox.text_of(mailbox.to("ann@example.com")[0])
