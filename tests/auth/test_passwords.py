"""Password change, forgot and reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx

from tests.auth.helpers import login, reset_token_in
from tests.support.clock import TestClock
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]
NEW = "brand-new-password"


async def test_change_password_ends_other_sessions_but_not_this_one(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create(signed_in=False)
    this = (await login(client, ann.email)).json()
    other = (await login(client, ann.email)).json()
    response = await client.post(
        "/api/v1/auth/password/change",
        headers={"Authorization": f"Bearer {this['access_token']}"},
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW},
    )
    assert response.status_code == 204
    me = "/api/v1/auth/me"
    assert (
        await client.get(me, headers={"Authorization": f"Bearer {this['access_token']}"})
    ).is_success
    gone = await client.get(me, headers={"Authorization": f"Bearer {other['access_token']}"})
    assert gone.status_code == 401
    assert (await login(client, ann.email, DEFAULT_PASSWORD)).status_code == 401
    assert (await login(client, ann.email, NEW)).status_code == 200


async def test_change_password_with_wrong_current_password_is_refused(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    response = await client.post(
        "/api/v1/auth/password/change",
        headers=ann.headers,
        json={"current_password": "not-it-at-all", "new_password": NEW},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password"


async def test_forgot_and_reset_sets_password_and_ends_every_session(
    client: httpx.AsyncClient, users: UserFactory, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    ann = await users.create()
    response = await client.post("/api/v1/auth/password/forgot", json={"email": ann.email})
    assert response.status_code == 202
    await run_worker()
    token = reset_token_in(mailbox, ann.email)
    assert "Reset" in mailbox.to(ann.email)[-1]["Subject"]

    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": NEW}
    )
    assert reset.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=ann.headers)).status_code == 401
    assert (await login(client, ann.email, NEW)).status_code == 200

    again = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "another-one"}
    )
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"


async def test_reset_token_expires_after_an_hour(
    client: httpx.AsyncClient,
    users: UserFactory,
    mailbox: Mailbox,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    ann = await users.create()
    await client.post("/api/v1/auth/password/forgot", json={"email": ann.email})
    await run_worker()
    clock.advance(timedelta(hours=1, seconds=1))
    response = await client.post(
        "/api/v1/auth/password/reset",
        json={"token": reset_token_in(mailbox, ann.email), "new_password": NEW},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


async def test_forgot_for_unknown_email_is_202_and_sends_nothing(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    response = await client.post(
        "/api/v1/auth/password/forgot", json={"email": "nobody@example.com"}
    )
    assert response.status_code == 202
    await run_worker()
    assert mailbox == []


async def test_made_up_reset_token_is_invalid(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/password/reset", json={"token": "made-up", "new_password": NEW}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


async def test_sent_reset_email_body_is_not_kept_in_the_database(
    client: httpx.AsyncClient, users: UserFactory, run_worker: RunWorker, db
) -> None:
    from sqlalchemy import select

    from app.models.mail import EmailMessage

    ann = await users.create()
    await client.post("/api/v1/auth/password/forgot", json={"email": ann.email})
    await run_worker()
    async with db.sessionmaker() as session:
        bodies = (await session.execute(select(EmailMessage.text_body))).scalars().all()
    assert bodies == [""]
