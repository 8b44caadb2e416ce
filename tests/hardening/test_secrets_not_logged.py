"""Passwords, tokens and emailed codes never reach the log, whatever the account goes through."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from structlog.stdlib import ProcessorFormatter

from app.core.config import get_settings
from app.main import create_app
from tests.auth.helpers import bearer, code_in, reset_token_in
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]

FIRST = "first-Secret-pa55word"
SECOND = "second-Secret-pa55word"
THIRD = "third-Secret-pa55word"
WRONG = "wrong-Secret-guess-77"


@pytest.fixture
def captured_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Every record at DEBUG and up, rendered by the app's own formatter (what operators see),
    plus pytest's caplog rendering of the raw records (their event dicts)."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        next(h.formatter for h in root.handlers if isinstance(h.formatter, ProcessorFormatter))
    )
    handler.setLevel(logging.DEBUG)
    # aiosmtpd is the test's SMTP server, not the app: at DEBUG it echoes the mail it receives.
    handler.addFilter(lambda record: not record.name.startswith("mail.log"))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def secrets_of(pair: dict[str, str]) -> list[str]:
    # Each whole token, and its signature alone (in case a line shows part of a token).
    tokens = [pair["access_token"], pair["refresh_token"]]
    return [*tokens, *(token.rsplit(".", 1)[1] for token in tokens)]


async def test_account_lifecycle_logs_no_password_token_or_code(
    client: httpx.AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    captured_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email = "secretive@example.com"
    secrets: list[str] = [FIRST, SECOND, THIRD, WRONG]

    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": FIRST, "name": "Sec"}
    )
    assert registered.status_code == 201
    await run_worker()
    code = code_in(mailbox, email)
    secrets.append(code)
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    assert (
        await client.post("/api/v1/auth/confirm", json={"email": email, "code": wrong_code})
    ).status_code == 400
    confirmed = await client.post("/api/v1/auth/confirm", json={"email": email, "code": code})
    assert confirmed.status_code == 200

    failed = await client.post("/api/v1/auth/login", json={"email": email, "password": WRONG})
    assert failed.status_code == 401
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": FIRST})
    assert login.status_code == 200
    first_pair = login.json()
    secrets += secrets_of(first_pair)

    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first_pair["refresh_token"]}
    )
    assert refreshed.status_code == 200
    second_pair = refreshed.json()
    secrets += secrets_of(second_pair)
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(second_pair["access_token"]))
    ).status_code == 200
    # The spent refresh token again: reuse detection ends every session and logs a warning.
    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first_pair["refresh_token"]}
    )
    assert reused.json()["code"] == "token_reused"

    form_login = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": FIRST}
    )
    assert form_login.status_code == 200
    third_pair = form_login.json()
    secrets += secrets_of(third_pair)
    logout = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": third_pair["refresh_token"]},
        headers=bearer(third_pair["access_token"]),
    )
    assert logout.status_code == 204
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(third_pair["access_token"]))
    ).status_code == 401

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": FIRST})
    fourth_pair = login.json()
    secrets += secrets_of(fourth_pair)
    too_short = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": FIRST, "new_password": "short"},
        headers=bearer(fourth_pair["access_token"]),
    )
    assert too_short.status_code == 422
    wrong_current = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": WRONG, "new_password": SECOND},
        headers=bearer(fourth_pair["access_token"]),
    )
    assert wrong_current.status_code == 400
    changed = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": FIRST, "new_password": SECOND},
        headers=bearer(fourth_pair["access_token"]),
    )
    assert changed.status_code == 204

    assert (
        await client.post("/api/v1/auth/password/forgot", json={"email": email})
    ).status_code == 202
    await run_worker()
    reset_token = reset_token_in(mailbox, email)
    secrets.append(reset_token)
    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": reset_token, "new_password": THIRD}
    )
    assert reset.status_code == 204
    replayed = await client.post(
        "/api/v1/auth/password/reset", json={"token": reset_token, "new_password": THIRD}
    )
    assert replayed.status_code == 400
    final = await client.post("/api/v1/auth/login", json={"email": email, "password": THIRD})
    assert final.status_code == 200
    secrets += secrets_of(final.json())

    rendered = captured_log.getvalue()
    app_records = [r for r in caplog.records if not r.name.startswith("mail.log")]
    raw = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in app_records)
    # The capture works: the flow's own events are there.
    for event in ("user_registered", "email_confirmed", "login", "password_reset", "email_sent"):
        assert event in rendered, f"{event} was not logged"
    assert "refresh_token_reused" in rendered
    for secret in secrets:
        assert secret not in rendered, f"a secret reached the log: {secret[:6]}..."
        assert secret not in raw, f"a secret reached a log record: {secret[:6]}..."


async def test_traceback_of_an_unexpected_error_does_not_show_local_variables(
    captured_log: io.StringIO,
) -> None:
    application = create_app(get_settings())

    @application.post("/boom")
    async def boom() -> None:
        password = "local-Secret-in-a-frame"  # what a crashing auth function would hold
        raise RuntimeError(f"failed after checking {len(password)} characters")

    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application, raise_app_exceptions=False),
            base_url="http://test",
        ) as http,
    ):
        assert (await http.post("/boom")).status_code == 500
    rendered = captured_log.getvalue()
    assert "failed after checking 23 characters" in rendered  # the traceback is there
    assert "local-Secret-in-a-frame" not in rendered
