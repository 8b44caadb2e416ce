"""Login, tokens, refresh rotation and reuse, logout, and what a token must be to be accepted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from jose import jwt
from sqlalchemy import select, update

from app.core import clock
from app.core.config import get_settings
from app.core.db import Database
from app.models.users import User
from tests.auth.helpers import bearer, login
from tests.support.clock import TestClock
from tests.support.factories import DEFAULT_PASSWORD, UserFactory


async def test_login_returns_a_bearer_pair_that_opens_me(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create(email="ann@example.com", name="Ann", signed_in=False)
    response = await login(client, "ANN@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == get_settings().access_token_minutes * 60
    me = await client.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    body = me.json()
    assert body["id"] == str(ann.id)
    assert set(body) >= {
        "id",
        "email",
        "name",
        "bio",
        "role",
        "is_confirmed",
        "email_notifications",
        "created",
        "host_rating",
        "guest_rating",
    }


async def test_oauth2_token_form_works_like_login(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    await users.create(email="ann@example.com", signed_in=False)
    response = await client.post(
        "/api/v1/auth/token", data={"username": "ann@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    me = await client.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    await users.create(email="ann@example.com", signed_in=False)
    wrong = await login(client, "ann@example.com", "not the password")
    unknown = await login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


async def test_unconfirmed_account_cannot_log_in_but_wrong_password_still_says_invalid(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    await users.create(email="ann@example.com", confirmed=False, signed_in=False)
    refused = await login(client, "ann@example.com", DEFAULT_PASSWORD)
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_not_confirmed"
    assert (await login(client, "ann@example.com", "nope-nope")).json()["code"] == (
        "invalid_credentials"
    )


async def test_repeated_failed_logins_are_rate_limited_even_with_the_right_password(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    await users.create(email="ann@example.com", signed_in=False)
    for _ in range(10):
        assert (await login(client, "ann@example.com", "wrong-password")).status_code == 401
    limited = await login(client, "ann@example.com", DEFAULT_PASSWORD)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_missing_or_garbage_token_is_401_with_www_authenticate(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, bearer("garbage"), {"Authorization": "Basic abc"}):
        response = await client.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_access_token_expires(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create()
    assert (await client.get("/api/v1/auth/me", headers=ann.headers)).status_code == 200
    clock.advance(timedelta(minutes=get_settings().access_token_minutes, seconds=1))
    response = await client.get("/api/v1/auth/me", headers=ann.headers)
    assert response.status_code == 401


def _claims_of(token: str) -> dict[str, object]:
    return jwt.get_unverified_claims(token)


async def test_tokens_signed_otherwise_are_refused(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    assert ann.tokens is not None
    claims = _claims_of(ann.tokens.access_token)
    forged = [
        jwt.encode(claims, "another-key-another-key-another-key!!", algorithm="HS256"),
        jwt.encode(claims, get_settings().secret_key, algorithm="HS512"),
    ]
    # alg "none": header and payload, no signature.
    import base64
    import json

    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    forged.append(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.")
    for token in forged:
        response = await client.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401, token


async def test_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    assert ann.tokens is not None
    response = await client.get("/api/v1/auth/me", headers=bearer(ann.tokens.refresh_token))
    assert response.status_code == 401


async def test_refresh_rotates_the_pair_and_spends_the_old_refresh_token(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create()
    assert ann.tokens is not None
    clock.advance(seconds=2)
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": ann.tokens.refresh_token}
    )
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["refresh_token"] != ann.tokens.refresh_token
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh["access_token"]))).is_success


async def test_spent_refresh_token_is_token_reused_and_ends_every_session(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create(signed_in=False)
    phone = (await login(client, ann.email)).json()
    laptop = (await login(client, ann.email)).json()
    clock.advance(seconds=2)
    rotated = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    ).json()

    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_reused"

    for token in (rotated["access_token"], laptop["access_token"], phone["access_token"]):
        assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    for refresh in (rotated["refresh_token"], laptop["refresh_token"]):
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    # Signing in again works.
    assert (await login(client, ann.email)).status_code == 200


async def test_logout_stops_access_and_refresh_token_at_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    other = await users.create()
    assert ann.tokens is not None
    response = await client.post(
        "/api/v1/auth/logout", headers=ann.headers, json={"refresh_token": ann.tokens.refresh_token}
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=ann.headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": ann.tokens.refresh_token}
    )
    assert refresh.status_code == 401
    assert refresh.json()["code"] == "not_authenticated"
    # Other people's sessions are untouched.
    assert (await client.get("/api/v1/auth/me", headers=other.headers)).status_code == 200


async def test_logout_without_body_ends_the_session(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    assert (await client.post("/api/v1/auth/logout", headers=ann.headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=ann.headers)).status_code == 401


async def test_logout_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/auth/logout")).status_code == 401


async def test_login_rehashes_a_password_stored_with_old_parameters(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    from passlib.hash import argon2

    ann = await users.create(signed_in=False)
    old_hash = argon2.using(memory_cost=512, rounds=1, parallelism=1).hash(DEFAULT_PASSWORD)
    async with db.sessionmaker() as session, session.begin():
        user = await session.get(User, ann.id)
        assert user is not None
        user.password_hash = old_hash
    assert (await login(client, ann.email)).status_code == 200
    async with db.sessionmaker() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == ann.id))
    assert stored != old_hash
    assert "m=1024" in (stored or "")


async def test_authentication_keeps_working_while_redis_is_down_but_login_fails_closed(
    app_with_own_redis, users: UserFactory
) -> None:
    application, redis = app_with_own_redis
    ann = await users.create()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://test"
    ) as http:
        redis.stop()
        me = await http.get("/api/v1/auth/me", headers=ann.headers)
        assert me.status_code == 200
        refused = await login(http, ann.email)
        assert refused.status_code == 503
        assert refused.json()["code"] == "rate_limiter_unavailable"
        redis.start()
        assert (await login(http, ann.email)).status_code == 200


async def test_simultaneous_requests_with_one_token_all_authenticate(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    responses = await asyncio.gather(
        *(client.get("/api/v1/auth/me", headers=ann.headers) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {200}
    assert clock.now()  # the app clock is live outside frozen tests


async def test_refresh_token_of_an_account_made_inactive_behind_the_api_is_refused(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    """The refresh path checks is_active itself: an account switched off by any path (a script,
    the database) cannot renew its tokens even though its sessions were never revoked."""
    ann = await users.create()
    assert ann.tokens is not None
    async with db.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == ann.id).values(is_active=False))
    clock.advance(seconds=2)
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": ann.tokens.refresh_token}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert (await client.get("/api/v1/auth/me", headers=ann.headers)).status_code == 401
