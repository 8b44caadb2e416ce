"""A Python client generated from the live schema, as a user would (openapi-python-client, see
docs/clients.md), generates without a warning and drives a meetup end to end: sign-up, the
emailed code, sign-in, a meetup, a seat request, the host's approval, the guest's inbox."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.auth.helpers import code_in
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]
PACKAGE = "meetup_sdk"
SCHEMA_FILE = "openapi.json"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, str]]:
    """The generated package (imported) and the generator's output."""
    root = tmp_path_factory.mktemp("sdk")
    schema = root / SCHEMA_FILE
    schema.write_text(json.dumps(create_app().openapi()), encoding="utf-8")
    # The generator's post hooks run ruff from PATH: this environment's.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=170,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE), output
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_client_generates_without_a_warning(generated: tuple[ModuleType, str]) -> None:
    _, output = generated
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output


def _sdk(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _http(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


async def test_a_generated_client_drives_a_meetup_end_to_end(
    generated: tuple[ModuleType, str], app: FastAPI, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    sdk, _ = generated
    models = _sdk("models")
    auth = {n: _sdk(f"api.auth.{n}") for n in ("register", "confirm_email", "login", "logout")}
    login_with_form = _sdk("api.auth.login_with_form")
    create_announcement = _sdk("api.announcements.create_announcement")
    list_announcements = _sdk("api.announcements.list_announcements")
    request_seats = _sdk("api.bookings.request_seats")
    approve_booking = _sdk("api.bookings.approve_booking")
    list_notifications = _sdk("api.notifications.list_notifications")
    list_reviews = _sdk("api.reviews.list_announcement_reviews")

    anonymous = sdk.Client(base_url="http://test")
    anonymous.set_async_httpx_client(_http(app))
    # The client was generated from the schema the app serves.
    served = (await anonymous.get_async_httpx_client().get("/openapi.json")).json()
    assert served == json.loads((Path(sdk.__file__).parents[1] / SCHEMA_FILE).read_text())

    async def sign_up(email: str, name: str) -> Any:
        body = models.RegisterRequest(email=email, password=DEFAULT_PASSWORD, name=name)
        created = await auth["register"].asyncio(client=anonymous, body=body)
        assert isinstance(created, models.UserPrivate), created
        assert created.is_confirmed is False
        await run_worker()  # the confirmation email
        code = code_in(mailbox, email)
        confirmed = await auth["confirm_email"].asyncio(
            client=anonymous, body=models.ConfirmRequest(email=email, code=code)
        )
        assert isinstance(confirmed, models.UserPrivate), confirmed
        assert confirmed.is_confirmed is True
        return confirmed

    def signed_in(tokens: Any) -> Any:
        assert isinstance(tokens, models.TokenPair), tokens
        client = sdk.AuthenticatedClient(base_url="http://test", token=tokens.access_token)
        return client.set_async_httpx_client(_http(app, tokens.access_token))

    await sign_up("host@example.com", "Host")
    guest_account = await sign_up("guest@example.com", "Guest")
    host = signed_in(
        await auth["login"].asyncio(
            client=anonymous,
            body=models.LoginRequest(email="host@example.com", password=DEFAULT_PASSWORD),
        )
    )
    # The OAuth2 form signs in as well.
    guest = signed_in(
        await login_with_form.asyncio(
            client=anonymous,
            body=models.TokenForm(username="guest@example.com", password=DEFAULT_PASSWORD),
        )
    )

    announce = models.AnnouncementCreate(
        title="Stalker at mine",
        movie_title="Stalker",
        event_time=datetime.now(UTC) + timedelta(days=3),
        location="My place",
        tickets_count=4,
        approval=models.Approval.MANUAL,
    )
    first = await create_announcement.asyncio_detailed(
        client=host, body=announce, idempotency_key="meetup-1"
    )
    assert first.status_code == 201
    meetup = first.parsed
    assert isinstance(meetup, models.AnnouncementPublic), meetup
    assert meetup.status == models.AnnouncementStatus.OPEN
    again = await create_announcement.asyncio_detailed(
        client=host, body=announce, idempotency_key="meetup-1"
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.parsed.id == meetup.id

    # Anonymous reads, with a named enum for the order.
    page = await list_announcements.asyncio(
        client=anonymous, sort=models.AnnouncementSort.EVENT_TIME_DESC
    )
    assert isinstance(page, models.PageAnnouncementListItem), page
    assert [item.id for item in page.items] == [meetup.id]
    assert page.total_is_estimate is False
    reviews = await list_reviews.asyncio(meetup.id, client=anonymous)
    assert isinstance(reviews, models.PageReviewPublic), reviews
    assert reviews.total == 0

    booking = await request_seats.asyncio(
        meetup.id, client=guest, body=models.BookingCreate(seats=2)
    )
    assert isinstance(booking, models.BookingPublic), booking
    assert booking.status == models.BookingStatus.PENDING
    approved = await approve_booking.asyncio(booking.id, client=host)
    assert isinstance(approved, models.BookingPublic), approved
    assert approved.status == models.BookingStatus.APPROVED

    await run_worker()  # the outbox becomes notifications
    inbox = await list_notifications.asyncio(client=guest)
    assert isinstance(inbox, models.NotificationPage), inbox
    kinds = [n.kind for n in inbox.items]
    assert models.NotificationKind.BOOKING_APPROVED in kinds, kinds
    assert inbox.unread_count == len(inbox.items)
    assert all(n.booking_id == booking.id for n in inbox.items if n.booking_id)

    # A typed error: the body of every 4xx parses as ErrorBody (or ValidationErrorBody on 422).
    twice = await request_seats.asyncio_detailed(
        meetup.id, client=guest, body=models.BookingCreate(seats=1)
    )
    assert twice.status_code == 409
    assert isinstance(twice.parsed, models.ErrorBody)
    assert twice.parsed.code == "already_booked"
    invalid = await request_seats.asyncio_detailed(
        meetup.id, client=guest, body=models.BookingCreate(seats=50)
    )
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, models.ValidationErrorBody)
    assert invalid.parsed.code == "validation_error"

    # The optional body may be left out (the generated client used to raise TypeError here).
    out = await auth["logout"].asyncio_detailed(client=guest)
    assert out.status_code == 204
    gone = await list_notifications.asyncio_detailed(client=guest)
    assert gone.status_code == 401
    assert gone.headers["WWW-Authenticate"] == "Bearer"
    assert guest_account.email == "guest@example.com"
