"""No stuck email (issue 13): whatever a name holds, whatever fails while an email is built or sent,
the email goes out with clean headers or ends `failed` after its retries; secrets (codes, reset
tokens) stay out of subjects, out of the database once sent, and out of a production log.

Real PostgreSQL, Redis, arq worker and SMTP server (tests/support/smtp.py)."""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from structlog.stdlib import ProcessorFormatter

from app.core.config import Settings, get_settings
from app.core.db import Database, Tx
from app.mail import sender
from app.mail import tasks as mail_tasks
from app.mail.render import render_email
from app.mail.sender import Mailer, build_message
from app.mail.service import SEND_EMAIL_JOB, job_id, queue_email
from app.models.announcements import Approval
from app.models.mail import EmailMessage, EmailStatus
from tests.auth.helpers import code_in, register, reset_token_in
from tests.mail.test_connections import stored
from tests.notifications.helpers import RunWorker, mail_to, run_sweep, worker_ctx
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox, SMTPSink

API = "/api/v1"
SUBJECT_MAX_CHARS = EmailMessage.__table__.c.subject.type.length  # type: ignore[attr-defined]

# Characters that end a line for some reader of a header: CR, LF, NEL, LINE/PARAGRAPH SEPARATOR,
# and other controls (vertical tab, form feed, NUL is impossible in PostgreSQL text).
BREAKERS = ["\r\n", "\r", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1b", "\t"]


def _clean(value: str) -> bool:
    return not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", value)


def _raw_header_lines(message: Any) -> list[str]:
    return [f"{name}: {value}" for name, value in message.raw_items()]


# --- headers from names and titles ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Eve\r\nBcc: x@evil.example", "Eve\u2028X", "Eve\u2029X", "Eve\x85X", "Eve\rBcc: x@evil"],
)
async def test_a_guest_whose_name_breaks_lines_still_reaches_the_host_with_a_clean_subject(
    client: httpx.AsyncClient,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
    name: str,
) -> None:
    host = await users.create(name="Hostess")
    guest = await users.create(name=name)  # straight in the database: an old or hand-edited row
    meetup = await meetups.create(host, title="Stalker night", approval=Approval.auto)
    booked = await client.post(
        f"{API}/announcements/{meetup.id}/bookings", headers=guest.headers, json={}
    )
    assert booked.status_code == 201, booked.text
    await run_worker()
    cancelled = await client.post(
        f"{API}/bookings/{booked.json()['id']}/cancel", headers=guest.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await run_worker()

    [message] = mail_to(mailbox, host)
    subject = str(message["Subject"])
    assert _clean(subject), repr(subject)
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", name).strip()
    assert subject == f"{flat} cancelled their booking for “Stalker night”"
    assert message["Bcc"] is None
    assert [m["To"] for m in mailbox if m["Bcc"] is not None] == []
    # The name did not spill out of the subject into the top of the body either.
    assert Mailbox.text_of(message).replace("\r\n", "\n").startswith("Hello Hostess,\n")
    async with db.sessionmaker() as session:
        from sqlalchemy import select

        rows = (await session.scalars(select(EmailMessage))).all()
    assert {r.status for r in rows} == {EmailStatus.sent}
    assert all(_clean(r.subject) for r in rows)


@pytest.mark.parametrize("breaker", BREAKERS)
async def test_every_header_is_one_clean_line_whatever_the_values_hold(
    mailbox: Mailbox, smtp_sink: SMTPSink, breaker: str
) -> None:
    settings = get_settings().model_copy(
        update={"smtp_from": f"Movie{breaker}Bcc: a@evil.example <films@example.com>"}
    )
    sender._from.cache_clear()
    try:
        async with Mailer(settings) as mailer:
            await mailer.send(
                build_message(
                    settings,
                    to="anna@example.com",
                    subject=f"Tonight{breaker}Bcc: c@evil.example",
                    text="Hi",
                    html="<p>Hi</p>",
                    attachments=[
                        (f"meet{breaker}Bcc: d@evil.example.ics", "text/calendar", b"BEGIN")
                    ],
                )
            )
    finally:
        sender._from.cache_clear()
    [message] = mailbox
    assert message["Bcc"] is None
    for header in ("Subject", "From"):
        assert _clean(str(message[header])), (header, repr(str(message[header])))
    assert str(message["Subject"]) == "Tonight Bcc: c@evil.example"
    assert message["From"].addresses[0].addr_spec == "films@example.com"
    assert message["From"].addresses[0].display_name == "Movie Bcc: a@evil.example"
    [attachment] = list(message.iter_attachments())
    filename = attachment.get_filename()
    assert filename is not None and _clean(filename)
    for part in message.walk():
        assert part["Bcc"] is None


@pytest.mark.parametrize("breaker", [*BREAKERS, " ", "<", '"'])
def test_an_address_holding_a_break_is_refused_not_cleaned_into_another(breaker: str) -> None:
    with pytest.raises(ValueError, match="address"):
        build_message(
            get_settings(),
            to=f"anna@example.com{breaker}Bcc: b@evil.example",
            subject="Hi",
            text="Hi",
            html="Hi",
        )


async def test_a_recipient_the_email_cannot_be_built_for_ends_failed_not_stuck(
    app: FastAPI, db: Database, mailbox: Mailbox, smtp_sink: SMTPSink, clock: TestClock
) -> None:
    async with db.sessionmaker() as session, session.begin():
        email = EmailMessage(
            to_address="anna@example.com\u2028Bcc: b@evil.example", subject="Hi", text_body="Hi",
            html_body="Hi",
        )  # fmt: skip
        session.add(email)
    ctx = worker_ctx(app)
    for attempt in range(1, mail_tasks.MAX_ATTEMPTS + 1):
        outcome = await mail_tasks.send_email(ctx, str(email.id))
        assert outcome == ("failed" if attempt == mail_tasks.MAX_ATTEMPTS else "retry")
        row = await stored(db, email.id)
        assert row.attempts == attempt and row.last_error and "address" in row.last_error
        clock.advance(hours=2)
    assert (await stored(db, email.id)).status == EmailStatus.failed
    assert mailbox == []


async def test_a_very_long_subject_is_cut_at_a_word_and_folded_into_short_lines(
    app: FastAPI, db: Database, mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    words = " ".join(f"Сталкер{n}" for n in range(400))  # ~4000 characters, not ASCII
    long_ascii = "Stalker " * 300 + "x" * 1200  # and one "word" longer than a header line
    ids = []
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=app.state.redis)
        async with session.begin():
            for subject in (words, long_ascii):
                email = await queue_email(
                    tx,
                    to="long@example.com",
                    template="notification",
                    subject=subject,
                    name="Ann",
                    body="Body",
                    meetup=None,
                    link=None,
                    has_ics=False,
                )
                ids.append(email.id)
        await tx.run_after_commit()
    for email_id in ids:
        row = await stored(db, email_id)
        assert len(row.subject) <= SUBJECT_MAX_CHARS and row.subject.endswith("…")
        assert await mail_tasks.send_email(worker_ctx(app), str(email_id)) == "sent"
    first, second = mailbox
    assert str(first["Subject"]).startswith(f"{words[:17]} ")
    assert str(first["Subject"]).endswith("…")
    assert str(second["Subject"]).startswith("Stalker Stalker ")
    for message in mailbox:
        assert _clean(str(message["Subject"]))
        for line in message.as_bytes().split(b"\n"):
            assert len(line) <= 998
        # As written on the wire: folded into lines of at most 78 characters.
        [(_, raw)] = [(n, v) for n, v in message.raw_items() if n == "Subject"]
        lines = f"Subject: {raw}".split("\n")
        assert len(lines) > 3 and all(len(line.rstrip("\r")) <= 78 for line in lines), lines


async def test_a_long_ascii_subject_is_folded_at_spaces_and_arrives_whole(
    mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    settings = get_settings()
    subject = " ".join(f"Stalker-{n}" for n in range(25))  # 250 characters, under the cut
    async with Mailer(settings) as mailer:
        await mailer.send(build_message(settings, to="a@example.com", subject=subject, text="Hi", html="Hi"))  # fmt: skip
    [message] = mailbox
    assert str(message["Subject"]) == subject
    [raw] = [v for n, v in message.raw_items() if n == "Subject"]
    lines = f"Subject: {raw}".split("\n")
    assert len(lines) >= 4 and all(len(line.rstrip("\r")) <= 78 for line in lines), lines


def test_a_subject_is_rendered_apart_from_the_body() -> None:
    rendered = render_email(
        "notification",
        subject="Line one\nBcc: x@evil.example\u2028more",
        name="Ann\nEve",
        body="First\nSecond",
        meetup=None,
        link=None,
        has_ics=False,
    )
    assert rendered.subject == "Line one Bcc: x@evil.example more"
    assert rendered.text.startswith("Hello Ann\nEve,")  # bodies keep their lines
    assert "First\nSecond" in rendered.text


# --- any failure is an attempt -------------------------------------------------------------------


async def _queue_with_calendar(db: Database, to: str) -> uuid.UUID:
    async with db.sessionmaker() as session, session.begin():
        email = EmailMessage(
            to_address=to,
            subject="You're in",
            text_body="See you",
            html_body="<p>See you</p>",
            ics_attachment="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        )
        session.add(email)
    return email.id


async def _drop_queued_jobs_keep_results(app: FastAPI) -> None:
    """Forget the jobs waiting in Redis (deferred by arq's real clock, out of the test clock's
    reach) but keep the results arq keeps of finished jobs: the sweep must work around those."""
    redis = app.state.redis
    queued = await redis.zrange("arq:queue", 0, -1)
    for jid in queued:
        await redis.delete(f"arq:job:{jid.decode() if isinstance(jid, bytes) else jid}")
    await redis.delete("arq:queue")


async def test_an_exception_while_building_is_an_attempt_retried_by_the_sweep_then_failed(
    app: FastAPI,
    db: Database,
    run_worker: RunWorker,
    mailbox: Mailbox,
    smtp_sink: SMTPSink,
    clock: TestClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def bad_attachment(*args: object) -> bytes:
        raise ValueError("a bad attachment")

    monkeypatch.setattr(sender, "_attachment", bad_attachment)
    email_id = await _queue_with_calendar(db, "cal@example.com")
    other = await _queue_with_calendar(db, "other@example.com")
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=app.state.redis)
        async with session.begin():
            tx.enqueue_after_commit(SEND_EMAIL_JOB, str(email_id), job_id=job_id(email_id, 0))
        await tx.run_after_commit()
    await run_worker()

    email = await stored(db, email_id)
    assert (email.status, email.attempts) == (EmailStatus.pending, 1)
    assert (
        email.last_error
        and "ValueError" in email.last_error
        and "bad attachment" in (email.last_error)
    )
    assert email.next_attempt_at > clock.now and email.sent_at is None
    assert email.text_body == "See you"  # put back for the next attempt
    # arq keeps the result of the first job; the retry is a job of another id.
    assert await app.state.redis.exists(f"arq:result:{job_id(email_id, 0)}")

    for attempt in range(2, mail_tasks.MAX_ATTEMPTS + 1):
        clock.advance(hours=2)
        await _drop_queued_jobs_keep_results(app)
        await run_sweep(app)
        await run_worker()
        email = await stored(db, email_id)
        assert (email.status, email.attempts) == (
            EmailStatus.failed if attempt == mail_tasks.MAX_ATTEMPTS else EmailStatus.pending,
            attempt,
        )
    assert email.last_error and "bad attachment" in email.last_error
    # `other` was never enqueued: the sweep found it (one round later), and it is not stuck either.
    assert (await stored(db, other)).attempts == mail_tasks.MAX_ATTEMPTS - 1
    clock.advance(hours=2)
    await _drop_queued_jobs_keep_results(app)
    await run_sweep(app)
    await run_worker()
    assert (await stored(db, other)).status == EmailStatus.failed
    assert (await stored(db, email_id)).attempts == mail_tasks.MAX_ATTEMPTS  # failed stays failed

    monkeypatch.undo()
    clock.advance(hours=2)
    await run_sweep(app)
    await run_worker()
    assert (await stored(db, email_id)).attempts == mail_tasks.MAX_ATTEMPTS
    assert mailbox == []


async def test_an_unexpected_error_of_the_mailer_is_an_attempt_and_the_retry_goes_out(
    app: FastAPI,
    db: Database,
    run_worker: RunWorker,
    mailbox: Mailbox,
    smtp_sink: SMTPSink,
    clock: TestClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_send = Mailer.send

    async def broken(self: Mailer, message: sender.OutgoingEmail) -> None:
        raise RuntimeError("the mailer broke")

    monkeypatch.setattr(Mailer, "send", broken)
    email_id = await _queue_with_calendar(db, "cal@example.com")
    await run_sweep(app)
    await run_worker()
    email = await stored(db, email_id)
    assert (email.status, email.attempts) == (EmailStatus.pending, 1)
    assert email.last_error and "RuntimeError" in email.last_error

    monkeypatch.setattr(Mailer, "send", real_send)
    clock.advance(minutes=2)
    await _drop_queued_jobs_keep_results(app)
    await run_sweep(app)
    await run_worker()
    assert (await stored(db, email_id)).status == EmailStatus.sent
    [message] = mailbox
    assert str(message["To"]) == "cal@example.com"
    assert len(list(message.iter_attachments())) == 1


# --- secrets -------------------------------------------------------------------------------------


async def _columns_of(db: Database, to: str) -> list[str]:
    from sqlalchemy import select

    async with db.sessionmaker() as session:
        rows = (
            await session.scalars(select(EmailMessage).where(EmailMessage.to_address == to))
        ).all()
    assert rows
    return [
        str(value)
        for row in rows
        for value in (row.subject, row.text_body, row.html_body, row.ics_attachment, row.last_error)
    ]


async def test_the_confirmation_code_is_not_in_the_subject_nor_kept_once_sent(
    client: httpx.AsyncClient, db: Database, run_worker: RunWorker, mailbox: Mailbox
) -> None:
    assert (await register(client, "ann@example.com")).status_code == 201
    await run_worker()
    code = code_in(mailbox, "ann@example.com")
    [message] = mailbox.to("ann@example.com")
    assert code not in str(message["Subject"])
    assert "confirmation code" in str(message["Subject"])
    assert all(code not in value for value in await _columns_of(db, "ann@example.com"))


async def test_the_reset_token_is_not_in_the_subject_nor_kept_once_sent(
    client: httpx.AsyncClient,
    db: Database,
    users: UserFactory,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    user = await users.create(email="reset@example.com")
    response = await client.post(f"{API}/auth/password/forgot", json={"email": user.email})
    assert response.status_code in (200, 202, 204), response.text
    await run_worker()
    token = reset_token_in(mailbox, user.email)
    [message] = mailbox.to(user.email)
    assert token not in str(message["Subject"])
    assert all(token not in value for value in await _columns_of(db, user.email))


@pytest.fixture
def app_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """What operators see: records rendered by the app's own formatter."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        next(h.formatter for h in root.handlers if isinstance(h.formatter, ProcessorFormatter))
    )
    root.addHandler(handler)
    caplog.set_level(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _settings(**update: Any) -> Settings:
    return get_settings().model_copy(update={"smtp_host": None, **update})


async def test_in_development_the_code_is_logged_in_production_it_never_is(
    app_log: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    code = "493817"
    text = f"Hello Ann,\n\nYour confirmation code is\n\n    {code}\n"
    for env, shown in (("development", True), ("production", False)):
        settings = _settings(env=env)
        caplog.clear()
        app_log.seek(0)
        app_log.truncate()
        async with Mailer(settings) as mailer:
            await mailer.send(
                build_message(
                    settings, to="ann@example.com", subject="Confirm", text=text, html=text
                )
            )
        rendered = app_log.getvalue() + caplog.text
        assert "email_logged_instead_of_sent" in rendered
        assert (code in rendered) is shown, (env, rendered)
        assert "ann@example.com" in rendered


async def test_the_sweep_runs_an_attempt_again_whose_job_ended_without_sending_it(
    app: FastAPI, db: Database, run_worker: RunWorker, mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    """A job that ended leaving the email pending (here: it skipped the email another worker held,
    and that worker then let go; a database error is the other way) keeps its result in arq for
    keep_result, an hour, and arq refuses its id meanwhile. The sweep still gets the email out."""
    from sqlalchemy import select

    email_id = await _queue_with_calendar(db, "held@example.com")
    async with db.engine.connect() as other_worker:
        transaction = await other_worker.begin()
        await other_worker.execute(
            select(EmailMessage.id).where(EmailMessage.id == email_id).with_for_update()  # type: ignore[arg-type]
        )
        await run_sweep(app)
        await run_worker()  # the job skips the held email
        await transaction.rollback()  # the other worker died mid-send
    assert await app.state.redis.exists(f"arq:result:{job_id(email_id, 0)}")
    assert (await stored(db, email_id)).status == EmailStatus.pending

    await run_sweep(app)
    await run_worker()
    assert (await stored(db, email_id)).status == EmailStatus.sent
    assert [str(m["To"]) for m in mailbox] == ["held@example.com"]


async def test_a_failure_while_building_a_sensitive_email_keeps_and_logs_no_word_of_it(
    app: FastAPI,
    db: Database,
    mailbox: Mailbox,
    smtp_sink: SMTPSink,
    monkeypatch: pytest.MonkeyPatch,
    app_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "reset-token-Zq81x"

    def quoting(settings: Settings, **fields: Any) -> sender.OutgoingEmail:
        raise ValueError(f"cannot build {fields['text']!r}")  # a message quoting what it built

    monkeypatch.setattr(mail_tasks, "build_message", quoting)
    async with db.sessionmaker() as session, session.begin():
        email = EmailMessage(
            to_address="s@example.com",
            subject="Reset your password",
            text_body=f"Your token: {secret}",
            html_body=f"<p>{secret}</p>",
            sensitive=True,
        )
        session.add(email)
    assert await mail_tasks.send_email(worker_ctx(app), str(email.id)) == "retry"
    row = await stored(db, email.id)
    assert row.attempts == 1 and row.last_error and row.last_error.startswith("ValueError")
    assert secret not in row.last_error
    assert secret in row.text_body  # kept for the next attempt
    assert secret not in app_log.getvalue() + caplog.text
