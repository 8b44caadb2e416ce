"""The console's lists, job page and buttons, through HTTP as a browser uses them: scheduled
reminders of a real meetup (made through the API), search and filters, pagination, abort, delete,
the traceback of a failed job, the live panel htmx swaps in, and sending a failed email again."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app.admin import jobs
from app.core import clock
from app.core.config import get_settings
from app.core.db import Database, Tx
from app.jobs import stats as job_stats
from app.mail import tasks as mail_tasks
from app.mail.service import queue_email
from app.models.mail import EmailMessage, EmailStatus
from tests.admin.helpers import RunWorker, console_token, jobs_in_every_state, sign_in
from tests.announcements.helpers import approve, book
from tests.support.announcements import create_announcement
from tests.support.factories import TestUser, UserFactory
from tests.support.smtp import Mailbox, SMTPSink


def _rows(html: str, table: str = "jobs") -> list[str]:
    """The job ids listed in the page's table `table`, in order."""
    body = html.split(f'<table id="{table}">', 1)
    if len(body) < 2:
        return []
    rows = body[1].split("</table>", 1)[0]
    return re.findall(r'<tr class="job [^"]*">\s*<td><a href="[^"]+"><code>([^<]+)</code>', rows)


@pytest.fixture
async def admin(users: UserFactory, browser: httpx.AsyncClient) -> TestUser:
    user = await users.admin(name="Olga Ops")
    assert (await sign_in(browser, user)).status_code == 303
    return user


async def _meetup_with_an_approved_guest(
    client: httpx.AsyncClient, users: UserFactory, run_worker: RunWorker
) -> str:
    """A meetup three days ahead, announced, booked and approved through the API, its outbox
    processed by the worker: its two reminders are deferred jobs now."""
    host, guest = await users.create(), await users.create()
    meetup = await create_announcement(
        client, host, event_time=clock.now() + timedelta(days=3), tickets_count=3
    )
    booking = await book(client, guest, meetup["id"], seats=1)
    await approve(client, host, booking["id"])
    await run_worker()
    return str(meetup["id"])


async def test_a_new_meetups_reminders_are_listed_searchable_and_abortable(
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    app: FastAPI,
    users: UserFactory,
    run_worker: RunWorker,
    admin: TestUser,
) -> None:
    meetup_id = await _meetup_with_an_approved_guest(client, users, run_worker)
    other = await _meetup_with_an_approved_guest(client, users, run_worker)
    queued = {job.job_id: job for job in await app.state.redis.queued_jobs()}
    day_before = next(j for j in queued if j.startswith(f"reminder:24h:{meetup_id}:"))
    hour_before = next(j for j in queued if j.startswith(f"reminder:1h:{meetup_id}:"))

    scheduled = (await browser.get("/admin/jobs", params={"state": "deferred"})).text
    listed = _rows(scheduled)
    assert {day_before, hour_before} <= set(listed)
    assert listed.index(day_before) < listed.index(hour_before)  # soonest due first
    assert f'href="/m/{meetup_id}"' in scheduled  # the meetup it is for

    found = (await browser.get("/admin/jobs", params={"q": meetup_id})).text
    assert sorted(_rows(found)) == sorted([day_before, hour_before])
    assert other not in found
    by_function = (
        await browser.get("/admin/jobs", params={"state": "deferred", "function": "send_reminder"})
    ).text
    assert len(_rows(by_function)) == 4  # both meetups' two reminders, nothing else
    assert _rows((await browser.get("/admin/jobs", params={"q": "no-such-job"})).text) == []

    token = await console_token(browser)
    forged = await browser.post(f"/admin/jobs/{day_before}/abort", data={"csrf_token": "x"})
    assert forged.status_code == 403
    back = f"/admin/jobs?state=deferred&q={meetup_id}"
    aborted = await browser.post(
        f"/admin/jobs/{day_before}/abort", data={"csrf_token": token, "next": back}
    )
    assert aborted.status_code == 303
    location = urlsplit(aborted.headers["location"])
    assert location.path == "/admin/jobs"
    assert parse_qs(location.query) == {
        "state": ["deferred"],
        "q": [meetup_id],
        "done": ["aborted"],
        "id": [day_before],
    }
    after = await browser.get(aborted.headers["location"])
    assert f"Job {day_before} was taken out of the queue." in after.text
    assert _rows(after.text) == [hour_before]
    assert day_before not in {job.job_id for job in await app.state.redis.queued_jobs()}
    failed = (await browser.get("/admin/jobs", params={"state": "failed", "q": meetup_id})).text
    assert _rows(failed) == [day_before]  # kept as failed: aborted by an admin
    assert "aborted by an admin" in failed


async def test_a_failed_jobs_page_shows_arguments_tries_and_traceback(
    browser: httpx.AsyncClient, app: FastAPI, run_worker: RunWorker, admin: TestUser
) -> None:
    made = await jobs_in_every_state(app.state.redis, run_worker)
    page = await browser.get(f"/admin/jobs/{made.failed}")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'<code id="arguments">&#39;not-a-uuid&#39;</code>', html)
    assert re.search(r"<th scope=\"row\">Tries</th><td>1</td>", html)
    traceback = html.split('<pre class="traceback" id="traceback">', 1)[1].split("</pre>", 1)[0]
    assert traceback.startswith("Traceback (most recent call last):")
    assert "uuid.UUID(event_id)" in traceback
    assert "ValueError: badly formed hexadecimal UUID string" in traceback
    assert f'action="/admin/jobs/{made.failed}/retry"' in html
    assert f'action="/admin/jobs/{made.failed}/abort"' not in html  # finished: nothing to abort

    waiting = (await browser.get(f"/admin/jobs/{made.deferred}")).text
    assert f'action="/admin/jobs/{made.deferred}/abort"' in waiting
    assert "Traceback" not in waiting

    missing = await browser.get("/admin/jobs/never-was")
    assert missing.status_code == 404
    assert "No such job" in missing.text


async def test_delete_removes_a_finished_job_and_returns_to_the_list(
    browser: httpx.AsyncClient, app: FastAPI, run_worker: RunWorker, admin: TestUser
) -> None:
    made = await jobs_in_every_state(app.state.redis, run_worker)
    token = await console_token(browser)
    deleted = await browser.post(
        f"/admin/jobs/{made.complete}/delete", data={"csrf_token": token, "next": "/admin/jobs"}
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/admin/jobs?done=deleted&id={made.complete}"
    assert (await browser.get(f"/admin/jobs/{made.complete}")).status_code == 404
    complete = (await browser.get("/admin/jobs", params={"state": "complete"})).text
    assert made.complete not in _rows(complete)


async def test_an_action_never_redirects_off_the_console(
    browser: httpx.AsyncClient, app: FastAPI, admin: TestUser
) -> None:
    token = await console_token(browser)
    for i, target in enumerate(
        ("https://evil.example/admin", "//evil.example/admin", "/elsewhere")
    ):
        await app.state.redis.enqueue_job(
            "process_event", str(uuid.uuid4()), _job_id=f"j{i}", _defer_by=600
        )
        response = await browser.post(
            f"/admin/jobs/j{i}/abort", data={"csrf_token": token, "next": target}
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/admin?done=aborted&id=j{i}"


async def test_long_lists_are_paginated_and_filters_combine(
    browser: httpx.AsyncClient, app: FastAPI, admin: TestUser
) -> None:
    redis = app.state.redis
    for i in range(30):
        await redis.enqueue_job(
            "process_event", str(uuid.uuid4()), _job_id=f"ev-{i:02}", _defer_by=600 + i
        )
    for i in range(3):
        meetup = uuid.uuid4()
        await redis.enqueue_job(
            "send_reminder", str(meetup), "reminder_1h", 0, _job_id=f"rem-{i}", _defer_by=700 + i
        )

    first = (await browser.get("/admin/jobs", params={"state": "deferred"})).text
    assert _rows(first) == [f"ev-{i:02}" for i in range(25)]
    assert "Page 1 of 2 · 33 in all" in first
    assert 'href="/admin/jobs?state=deferred&amp;page_number=2" rel="next"' in first
    second = (
        await browser.get("/admin/jobs", params={"state": "deferred", "page_number": "2"})
    ).text
    assert _rows(second) == [*(f"ev-{i:02}" for i in range(25, 30)), "rem-0", "rem-1", "rem-2"]
    assert 'rel="prev"' in second and 'rel="next"' not in second

    reminders = (
        await browser.get("/admin/jobs", params={"function": "send_reminder", "q": "rem-"})
    ).text
    assert _rows(reminders) == ["rem-0", "rem-1", "rem-2"]
    assert "Page 1 of 1 · 3 in all" in reminders
    # Nonsense in the query is no error: the first page, any function.
    odd = await browser.get(
        "/admin/jobs", params={"state": "bogus", "function": "rm -rf", "page_number": "-3"}
    )
    assert odd.status_code == 200 and len(_rows(odd.text)) == 25


async def test_an_id_search_covers_the_whole_queue_an_argument_search_stops_at_its_cap(
    browser: httpx.AsyncClient, app: FastAPI, admin: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "SCAN_CAP", 40)
    for i in range(60):
        await app.state.redis.enqueue_job(
            "process_event", f"arg-{i:02}", _job_id=f"bulk-{i:02}", _defer_by=600 + i
        )
    # Ids: matched inside Redis over the whole queue, so bulk-50.. are found past the cap.
    by_id = (await browser.get("/admin/jobs", params={"q": "bulk-5"})).text
    assert _rows(by_id) == [f"bulk-{i}" for i in range(50, 60)]
    # Arguments: read from the job bodies, at most SCAN_CAP of them, and the page says so.
    by_argument = (await browser.get("/admin/jobs", params={"q": "arg-5"})).text
    assert 'id="truncated"' in by_argument
    assert _rows(by_argument) == []  # arg-50.. lie beyond the first 40 examined
    near = (await browser.get("/admin/jobs", params={"q": "arg-1", "state": "deferred"})).text
    assert _rows(near) == [f"bulk-{i}" for i in range(10, 20)]
    glob = (await browser.get("/admin/jobs", params={"q": "bulk-*"})).text
    assert _rows(glob) == []  # the text is matched as it is, never as a pattern
    monkeypatch.setattr(jobs, "SCAN_CAP", 5)  # more ids match than the cap: said, not hidden
    capped = (await browser.get("/admin/jobs", params={"q": "bulk-", "state": "deferred"})).text
    assert 'id="truncated"' in capped and 5 <= len(_rows(capped)) <= 10


async def test_the_live_panel_and_its_chart_count_the_runs(
    browser: httpx.AsyncClient, app: FastAPI, run_worker: RunWorker, admin: TestUser
) -> None:
    await jobs_in_every_state(app.state.redis, run_worker)  # one run completed, one failed
    panel = await browser.get("/admin/live")
    assert panel.status_code == 200
    html = panel.text
    assert "<html" not in html  # the fragment htmx swaps in
    assert html.lstrip().startswith('<section id="live"')
    assert 'hx-trigger="every 10s"' in html
    assert "2 processed, 1 failed, 0 retried" in html
    assert re.search(r'id="processed">2<', html) and re.search(r'id="failed">1<', html)
    assert len(re.findall(r'<rect class="failed"', html)) == 1
    day = (await browser.get("/admin/live", params={"window": "24h"})).text
    assert "last 24 hours" in day and "2 processed, 1 failed" in day


async def test_the_live_panel_of_an_ended_session_sends_htmx_to_the_sign_in(
    browser: httpx.AsyncClient,
) -> None:
    swapped = await browser.get("/admin/live", headers={"HX-Request": "true"})
    assert swapped.status_code == 204
    assert swapped.headers["HX-Redirect"] == "/admin/login"
    plain = await browser.get("/admin/live")
    assert plain.status_code == 303 and plain.headers["location"] == "/admin/login"


async def test_a_worker_is_shown_with_the_job_it_runs(
    browser: httpx.AsyncClient, app: FastAPI, admin: TestUser
) -> None:
    """What the worker's hooks write (app.worker.on_job_start) is what the panel reads."""
    redis = app.state.redis
    job = await redis.enqueue_job("process_event", str(uuid.uuid4()), _job_id="long-one")
    assert job is not None
    name = "worker-host:4242"
    await redis.set(f"arq:queue:health-check:{name}", "j_complete=0 j_ongoing=1", ex=11)
    await redis.set("arq:in-progress:long-one", b"1", px=60_000)  # what arq marks on start
    await job_stats.on_job_start({"redis": redis, "job_id": "long-one"}, worker=name)
    html = (await browser.get("/admin/live")).text
    row = html.split(f"<code>{name}</code>", 1)[1].split("</tr>", 1)[0]
    assert 'href="/admin/jobs/long-one">process_event</a>' in row

    await job_stats.after_job_end(
        {
            "redis": redis,
            "job_id": "long-one",
            job_stats.CTX_FUNCTION: "process_event",
            job_stats.CTX_OUTCOME: "completed",
            job_stats.CTX_DURATION: 0.01,
        },
        worker=name,
    )
    await redis.delete("arq:in-progress:long-one")
    html = (await browser.get("/admin/live")).text
    assert "idle" in html.split(f"<code>{name}</code>", 1)[1].split("</tr>", 1)[0]


async def test_an_email_that_failed_for_good_is_sent_again(
    browser: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    admin: TestUser,
    smtp_sink: SMTPSink,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    async with db.sessionmaker() as session:
        tx = Tx(session)
        async with session.begin():
            email = await queue_email(
                tx,
                to="flaky@example.com",
                template="notification",
                subject="Your booking is approved",
                name="Flaky",
                body="See you on Friday.",
                meetup=None,
                link="http://meetup.test/s/abc",
                has_ics=False,
            )
            email.attempts = mail_tasks.MAX_ATTEMPTS - 1
    await app.state.redis.delete(f"arq:job:email:{email.id}:0")  # only the last try is left
    smtp_sink.refuse = True
    try:
        ctx = {"db": db, "redis": app.state.redis, "settings": get_settings()}
        assert await mail_tasks.send_email(ctx, str(email.id)) == "failed"
    finally:
        smtp_sink.refuse = False

    listed = (await browser.get("/admin/emails")).text
    assert "flaky@example.com" in listed and "451" in listed
    assert "Page 1 of 1 · 1 in all" in listed
    token = await console_token(browser)
    assert (
        await browser.post(f"/admin/emails/{email.id}/resend", data={"csrf_token": "forged"})
    ).status_code == 403
    resent = await browser.post(f"/admin/emails/{email.id}/resend", data={"csrf_token": token})
    assert resent.status_code == 303
    assert resent.headers["location"] == f"/admin/emails?done=resent&id={email.id}"
    again = await browser.post(f"/admin/emails/{email.id}/resend", data={"csrf_token": token})
    assert again.status_code == 409  # pending now, not failed

    started = time.monotonic()
    await run_worker()
    assert time.monotonic() - started < 30
    assert [m["To"] for m in mailbox] == ["flaky@example.com"]
    async with db.sessionmaker() as session:
        stored = await session.get(EmailMessage, email.id)
    assert stored is not None and stored.status == EmailStatus.sent
    assert "flaky@example.com" not in (await browser.get("/admin/emails")).text
