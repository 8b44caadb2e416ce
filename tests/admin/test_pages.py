"""/admin/login and /admin: the cookie sign-in for admins only, and the self-refreshing job
monitor (counts per state, queue depth, worker heartbeat, recent failures with a retry button)."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select

from app.admin import jobs
from app.core.config import get_settings
from app.core.db import Database, Tx
from app.events import DomainEvent
from app.mail import tasks as mail_tasks
from app.mail.service import queue_email
from app.main import create_app
from app.models.auth import AuthSession
from app.models.mail import EmailMessage, EmailStatus
from tests.admin.helpers import RunWorker, jobs_in_every_state
from tests.admin.helpers import console_token as _monitor_token
from tests.admin.helpers import csrf_in as _csrf_in
from tests.admin.helpers import login_token as _login_token
from tests.admin.helpers import sign_in as _sign_in
from tests.notifications.helpers import BackgroundWorker
from tests.support.factories import TestUser, UserFactory
from tests.support.smtp import Mailbox, SMTPSink


async def _sessions(db: Database, user: TestUser) -> int:
    async with db.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user.id)
            )
            or 0
        )


async def test_login_page_is_a_form(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/admin/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert '<form method="post" action="/admin/login">' in response.text
    assert 'name="email"' in response.text and 'name="password"' in response.text
    assert _csrf_in(response.text)


async def test_admin_signs_in_with_a_strict_httponly_cookie_and_sees_the_monitor(
    browser: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin(name="Ada")
    made = await jobs_in_every_state(app.state.redis, run_worker)
    response = await _sign_in(browser, admin)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("meetup_admin=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # PUBLIC_BASE_URL is http in the tests

    page = await browser.get("/admin")
    assert page.status_code == 200
    html = page.text
    assert '<meta http-equiv="refresh" content="10">' in html
    assert "Ada" in html
    assert re.search(r'id="queue-depth">2<', html)  # the queued and the deferred job
    for state, n in (("queued", 1), ("deferred", 1), ("in_progress", 0), ("complete", 1)):
        assert re.search(rf'id="count-{state}">{n}<', html), state
    assert re.search(r'id="count-failed">1<', html)
    assert made.failed in html
    assert "ValueError: badly formed hexadecimal UUID string" in html
    assert f'action="/admin/jobs/{made.failed}/retry"' in html
    assert "No heartbeat" in html  # no worker is running now


async def test_the_monitor_shows_a_live_worker_heartbeat(
    browser: httpx.AsyncClient, app: FastAPI, users: UserFactory
) -> None:
    admin = await users.admin()
    await _sign_in(browser, admin)
    worker = BackgroundWorker()
    try:
        for _ in range(200):  # until the worker's first report is in Redis (a condition)
            if (await jobs.heartbeat(app.state.redis, jobs.health_check_interval())).seen:
                break
            await asyncio.sleep(0.02)
        html = (await browser.get("/admin")).text
    finally:
        await worker.kill()
    assert re.search(r"Alive: last heartbeat \d+(\.\d)? s ago", html)
    assert "j_complete=" in html


async def test_the_retry_button_reenqueues_the_failed_job(
    browser: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)
    await _sign_in(browser, admin)
    token = await _monitor_token(browser)
    response = await browser.post(f"/admin/jobs/{made.failed}/retry", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin?done=retried&id=broken-event%3Aretry%3A")
    queued = [job for job in await app.state.redis.queued_jobs() if job.function == "process_event"]
    assert [job.args for job in queued if job.job_id.startswith(f"{made.failed}:retry:")] == [
        ("not-a-uuid",)
    ]
    page = await browser.get(response.headers["location"])
    assert "Re-enqueued as broken-event:retry:" in page.text
    complete = await browser.post(f"/admin/jobs/{made.complete}/retry", data={"csrf_token": token})
    assert complete.status_code == 409
    assert "Only a failed job can be retried" in complete.text


async def test_a_member_is_refused_and_keeps_no_session(
    browser: httpx.AsyncClient, db: Database, users: UserFactory
) -> None:
    member = await users.create()
    before = await _sessions(db, member)
    response = await _sign_in(browser, member)
    assert response.status_code == 403
    assert "not an administrator" in response.text
    assert "set-cookie" not in response.headers
    assert await _sessions(db, member) == before
    assert (await browser.get("/admin")).headers["location"] == "/admin/login"


async def test_a_wrong_password_shows_the_form_again_with_the_error(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    response = await browser.post(
        "/admin/login",
        data={
            "email": admin.email,
            "password": "not the password",
            "csrf_token": await _login_token(browser),
        },
    )
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert f'value="{admin.email}"' in response.text
    assert _csrf_in(response.text)  # the form shown again can be sent again
    assert "set-cookie" not in response.headers


async def test_without_the_cookie_the_monitor_and_its_buttons_send_to_the_login(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    member = await users.create()
    for response in (
        await browser.get("/admin"),
        await browser.get("/admin", headers=member.headers),  # a bearer token is not the cookie
        await browser.post("/admin/jobs/anything/retry"),
    ):
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login"


async def test_signing_out_ends_the_session_behind_the_cookie(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    await _sign_in(browser, admin)
    token = browser.cookies["meetup_admin"]
    out = await browser.post("/admin/logout", data={"csrf_token": await _monitor_token(browser)})
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    assert "meetup_admin" not in browser.cookies
    browser.cookies.set("meetup_admin", token, path="/admin")  # a copy kept by a thief
    assert (await browser.get("/admin")).headers["location"] == "/admin/login"


async def test_a_deactivated_or_demoted_admin_loses_the_monitor_at_once(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory
) -> None:
    boss, admin = await users.admin(), await users.admin()
    await _sign_in(browser, admin)
    assert (await browser.get("/admin")).status_code == 200
    demoted = await client.patch(
        f"/api/v1/admin/users/{admin.id}", headers=boss.headers, json={"role": "member"}
    )
    assert demoted.status_code == 200
    refused = await browser.get("/admin")
    assert refused.status_code == 403
    assert "not an administrator" in refused.text
    deactivated = await client.patch(
        f"/api/v1/admin/users/{admin.id}", headers=boss.headers, json={"is_active": False}
    )
    assert deactivated.status_code == 200
    assert (await browser.get("/admin")).headers["location"] == "/admin/login"


async def test_the_cookie_is_secure_when_the_public_url_is_https(
    services: object, users: UserFactory
) -> None:
    admin = await users.admin()
    settings = get_settings().model_copy(update={"public_base_url": "https://meetup.example"})
    secure_app = create_app(settings)
    async with LifespanManager(secure_app):
        transport = httpx.ASGITransport(app=secure_app)
        async with httpx.AsyncClient(transport=transport, base_url="https://test") as http:
            response = await _sign_in(http, admin)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


async def test_an_email_that_failed_for_good_and_a_stuck_event_are_shown(
    browser: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    smtp_sink: SMTPSink,
    mailbox: Mailbox,
) -> None:
    admin = await users.admin()
    async with db.sessionmaker() as session:
        tx = Tx(session)
        async with session.begin():
            email = await queue_email(
                tx, to="gone@example.com", template="notification", **_notification_context()
            )
            email.attempts = mail_tasks.MAX_ATTEMPTS - 1  # the last try
            session.add(
                DomainEvent(kind="booking_approved", attempts=3, last_error="RuntimeError: boom")
            )
    smtp_sink.refuse = True
    try:
        outcome = await mail_tasks.send_email(
            {"db": db, "redis": app.state.redis, "settings": get_settings()}, str(email.id)
        )
    finally:
        smtp_sink.refuse = False
    assert outcome == "failed"
    assert mailbox == []
    async with db.sessionmaker() as session:
        stored = await session.get(EmailMessage, email.id)
    assert stored is not None and stored.status == EmailStatus.failed
    assert stored.last_error and "451" in stored.last_error

    await _sign_in(browser, admin)
    html = (await browser.get("/admin")).text
    assert "Emails that could not be delivered" in html
    assert "gone@example.com" in html and "451" in html
    assert "Outbox events that keep failing" in html and "RuntimeError: boom" in html


def _notification_context() -> dict[str, object]:
    return {
        "subject": "Reminder: “Stalker night” starts in 1 hour",
        "name": "Gone",
        "body": "The meetup you booked starts in 1 hour.",
        "meetup": None,
        "link": "http://meetup.test/s/abc",
        "has_ics": False,
    }


async def test_the_login_form_refuses_a_post_without_its_csrf_token(
    browser: httpx.AsyncClient, app: FastAPI, db: Database, users: UserFactory
) -> None:
    """Another site's form could sign the victim in to the attacker's account (login CSRF):
    the post needs the token of a form this site served to this browser."""
    admin = await users.admin()
    form = {"email": admin.email, "password": admin.password}
    before = await _sessions(db, admin)
    token = await _login_token(browser)
    for refused in (
        await browser.post("/admin/login", data=form),
        await browser.post("/admin/login", data={**form, "csrf_token": "forged"}),
        await browser.post("/admin/login", data={**form, "csrf_token": token[:-2] + "xx"}),
    ):
        assert refused.status_code == 403
        assert "meetup_admin=" not in refused.headers.get("set-cookie", "")
    assert await _sessions(db, admin) == before  # refused before the password was looked at
    # A token from another browser (its cookie differs) does not fit this one.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as other_browser:
        foreign = await _login_token(other_browser)
    refused = await browser.post("/admin/login", data={**form, "csrf_token": foreign})
    assert refused.status_code == 403
    assert (
        await browser.post("/admin/login", data={**form, "csrf_token": token})
    ).status_code == 303


async def test_the_monitor_forms_refuse_a_post_without_their_csrf_token(
    browser: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)
    await _sign_in(browser, admin)
    token = await _monitor_token(browser)
    html = (await browser.get("/admin")).text
    # Sign out; retry and delete of the failed job; abort and delete of the deferred one.
    forms = html.count('<form method="post"')
    assert forms == 5
    assert html.count(f'name="csrf_token" value="{token}"') == forms
    retry = f"/admin/jobs/{made.failed}/retry"
    buttons = [
        retry,
        f"/admin/jobs/{made.failed}/delete",
        f"/admin/jobs/{made.deferred}/abort",
        f"/admin/jobs/{made.deferred}/delete",
        f"/admin/emails/{uuid.uuid4()}/resend",
        f"/admin/webhook-deliveries/{uuid.uuid4()}/redeliver",
        "/admin/logout",
    ]
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": await _login_token(browser)}):
        for button in buttons:
            refused = await browser.post(button, data=data)
            assert refused.status_code == 403, (button, data)
    assert not [j for j in await app.state.redis.queued_jobs() if ":retry:" in j.job_id]
    assert made.deferred in {j.job_id for j in await app.state.redis.queued_jobs()}
    assert (await browser.get(f"/admin/jobs/{made.failed}")).status_code == 200
    assert (await browser.get("/admin")).status_code == 200  # still signed in
    assert (await browser.post(retry, data={"csrf_token": token})).status_code == 303
    assert (await browser.post("/admin/logout", data={"csrf_token": token})).headers[
        "location"
    ] == "/admin/login"


async def test_a_monitor_token_belongs_to_its_session(
    app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://test") as first,
        httpx.AsyncClient(transport=transport, base_url="http://test") as second,
    ):
        await _sign_in(first, admin)
        await _sign_in(second, admin)
        token_of_first = await _monitor_token(first)
        assert token_of_first != await _monitor_token(second)
        refused = await second.post(
            f"/admin/jobs/{made.failed}/retry", data={"csrf_token": token_of_first}
        )
        assert refused.status_code == 403
