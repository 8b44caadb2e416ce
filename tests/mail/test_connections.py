"""A worker sends its email over a few SMTP connections kept open between messages, reconnects when
the server has hung up, and still reports a recipient the server refuses for good.

Real PostgreSQL, Redis and arq worker; the SMTP server is the real aiosmtpd one of
tests/support/smtp.py, which counts the connections made to it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from app.core.config import get_settings
from app.core.db import Database, Tx
from app.mail import tasks as mail_tasks
from app.mail.sender import Mailer, OutgoingEmail, build_message
from app.mail.service import queue_email
from app.models.mail import EmailMessage, EmailStatus
from tests.notifications.helpers import BackgroundWorker, RunWorker, sweep_and_work, worker_ctx
from tests.support.clock import TestClock
from tests.support.smtp import Mailbox, SMTPSink


def _context(n: int) -> dict[str, Any]:
    return {
        "subject": f"Reminder: “Stalker night” starts in 1 hour ({n})",
        "name": f"Guest {n}",
        "body": "The meetup you booked starts in 1 hour.",
        "meetup": None,
        "link": f"http://meetup.test/s/{n}",
        "has_ics": False,
    }


async def queue(app: FastAPI, *addresses: str) -> list[uuid.UUID]:
    """Emails queued as the services queue them: their send_email jobs go to Redis on commit."""
    async with app.state.db.sessionmaker() as session:
        tx = Tx(session, redis=app.state.redis)
        async with session.begin():
            emails = [
                await queue_email(tx, to=address, template="notification", **_context(n))
                for n, address in enumerate(addresses)
            ]
        await tx.run_after_commit()
    return [email.id for email in emails]


async def stored(db: Database, email_id: uuid.UUID) -> EmailMessage:
    async with db.sessionmaker() as session:
        email = await session.get(EmailMessage, email_id)
        assert email is not None
        return email


async def until(condition: Callable[[], bool | Awaitable[bool]], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, "the condition never became true"
        await asyncio.sleep(0.02)


async def test_a_worker_sends_many_emails_over_its_few_connections_and_quits_them_at_the_end(
    app: FastAPI, db: Database, run_worker: RunWorker, mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    addresses = [f"guest-{n}@example.com" for n in range(60)]
    ids = await queue(app, *addresses)
    before = smtp_sink.connections_made

    await run_worker()

    assert sorted(str(m["To"]) for m in mailbox) == sorted(addresses)
    assert 1 <= smtp_sink.connections_made - before <= get_settings().smtp_connections
    async with db.sessionmaker() as session:
        statuses = (
            await session.scalars(select(EmailMessage.status).where(EmailMessage.id.in_(ids)))  # type: ignore[attr-defined]
        ).all()
    assert statuses == [EmailStatus.sent] * len(ids)
    # The worker's shutdown QUITs its connections.
    await until(lambda: smtp_sink.open_connections == 0)


async def test_after_the_server_drops_an_idle_connection_the_next_email_goes_over_a_new_one(
    app: FastAPI, mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    worker = BackgroundWorker()
    try:
        before = smtp_sink.connections_made
        await queue(app, "first@example.com")
        await until(lambda: len(mailbox.to("first@example.com")) == 1)

        smtp_sink.drop_connections()  # an idle timeout, a restart of the mail server
        await until(lambda: smtp_sink.open_connections == 0)
        await queue(app, "second@example.com")
        await until(lambda: len(mailbox.to("second@example.com")) == 1)
        assert smtp_sink.connections_made - before == 2
    finally:
        await worker.kill()
    assert len(mailbox) == 2


async def test_a_server_hanging_up_on_a_reused_connection_gets_the_email_once_over_a_new_one(
    app: FastAPI, db: Database, mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    first, second, third = await queue(
        app, "first@example.com", "second@example.com", "third@example.com"
    )
    async with Mailer(get_settings()) as mailer:
        ctx = {**worker_ctx(app), "mailer": mailer}
        before = smtp_sink.connections_made
        assert await mail_tasks.send_email(ctx, str(first)) == "sent"

        # The client does not know yet: its MAIL FROM is answered with 421 and the connection
        # closed. That is no failure of the email: it goes again, at once, on a new connection.
        smtp_sink.hang_up_on_next_mail()
        assert await mail_tasks.send_email(ctx, str(second)) == "sent"
        assert smtp_sink.connections_made - before == 2
        assert (await stored(db, second)).attempts == 0

        # A server that hangs up on a connection just opened is not tried again at once.
        smtp_sink.drop_connections()
        await until(lambda: mailer.open_connections == 0)
        smtp_sink.hang_up_on_next_mail()
        assert await mail_tasks.send_email(ctx, str(third)) == "retry"
    email = await stored(db, third)
    assert (email.status, email.attempts) == (EmailStatus.pending, 1)
    assert email.last_error and "421" in email.last_error
    assert [str(m["To"]) for m in mailbox] == ["first@example.com", "second@example.com"]


async def test_a_refused_recipient_ends_failed_after_its_retries_and_the_others_still_go_out(
    app: FastAPI,
    db: Database,
    run_worker: RunWorker,
    mailbox: Mailbox,
    smtp_sink: SMTPSink,
    clock: TestClock,
) -> None:
    smtp_sink.refused_recipients.add("nobody@example.com")
    try:
        before, refused, after = await queue(
            app, "before@example.com", "nobody@example.com", "after@example.com"
        )
        await run_worker()
        assert {str(m["To"]) for m in mailbox} == {"before@example.com", "after@example.com"}
        email = await stored(db, refused)
        assert (email.status, email.attempts) == (EmailStatus.pending, 1)
        assert email.last_error and "550" in email.last_error
        assert email.text_body  # put back as it was, for the next attempt

        for attempt in range(2, mail_tasks.MAX_ATTEMPTS + 1):
            # The retry waits in Redis on arq's real clock; as in tests/notifications, drop it and
            # let the sweep find the email due by the test clock.
            clock.advance(hours=2)
            await app.state.redis.flushdb()
            await sweep_and_work(app, run_worker)
            assert (await stored(db, refused)).attempts == attempt
    finally:
        smtp_sink.refused_recipients.clear()

    email = await stored(db, refused)
    assert email.status == EmailStatus.failed and email.attempts == mail_tasks.MAX_ATTEMPTS
    assert email.sent_at is None and email.last_error and "550" in email.last_error
    for sent in (before, after):
        assert (await stored(db, sent)).status == EmailStatus.sent
    assert len(mailbox) == 2
    clock.advance(hours=2)
    await sweep_and_work(app, run_worker)
    assert (await stored(db, refused)).attempts == mail_tasks.MAX_ATTEMPTS


async def test_a_sensitive_body_is_blanked_once_sent_and_kept_while_it_is_being_retried(
    app: FastAPI, db: Database, mailbox: Mailbox, smtp_sink: SMTPSink, clock: TestClock
) -> None:
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=app.state.redis)
        async with session.begin():
            email = await queue_email(
                tx, to="secret@example.com", template="notification", sensitive=True, **_context(1)
            )
    ctx = worker_ctx(app)  # outside a worker: send_email opens a connection of its own
    smtp_sink.refuse = True
    try:
        assert await mail_tasks.send_email(ctx, str(email.id)) == "retry"
    finally:
        smtp_sink.refuse = False
    assert "Guest 1" in (await stored(db, email.id)).text_body
    clock.advance(minutes=1)
    assert await mail_tasks.send_email(ctx, str(email.id)) == "sent"
    sent = await stored(db, email.id)
    assert (sent.status, sent.text_body, sent.html_body) == (EmailStatus.sent, "", "")
    assert sent.sent_at == clock.now
    [message] = mailbox
    assert "Guest 1" in mailbox.text_of(message)
    assert await mail_tasks.send_email(ctx, str(email.id)) == "skipped"


async def test_an_email_being_sent_by_one_worker_is_skipped_by_another(
    app: FastAPI, db: Database, mailbox: Mailbox
) -> None:
    [email_id] = await queue(app, "once@example.com")
    async with db.engine.connect() as other_worker:
        transaction = await other_worker.begin()
        await other_worker.execute(
            select(EmailMessage.id).where(EmailMessage.id == email_id).with_for_update()  # type: ignore[arg-type]
        )
        assert await mail_tasks.send_email(worker_ctx(app), str(email_id)) == "skipped"
        await transaction.rollback()
    assert mailbox == []
    assert (await stored(db, email_id)).status == EmailStatus.pending


async def test_an_idle_connection_is_closed_and_the_next_email_opens_another(
    mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    settings = get_settings()

    def message(to: str) -> OutgoingEmail:
        return build_message(settings, to=to, subject="Hello", text="Hi", html="<p>Hi</p>")

    async with Mailer(settings, idle_seconds=0.2) as mailer:
        await mailer.send(message("one@example.com"))
        assert mailer.open_connections == 1
        await until(lambda: mailer.open_connections == 0 and smtp_sink.open_connections == 0)
        await mailer.send(message("two@example.com"))
    assert [str(m["To"]) for m in mailbox] == ["one@example.com", "two@example.com"]


async def test_the_message_arrives_as_written_with_its_calendar_and_no_injected_header(
    mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    settings = get_settings().model_copy(update={"smtp_from": "Кино вместе <films@example.com>"})
    text = "Привет, Анна!\n\nA line with trailing spaces   \n.a line starting with a dot\n" + (
        "long " * 40
    )
    html = "<p>Привет, <b>Анна</b> = “you”</p>"
    ics = "BEGIN:VCALENDAR\r\nSUMMARY:Сталкер\r\nEND:VCALENDAR\r\n"
    async with Mailer(settings) as mailer:
        await mailer.send(
            build_message(
                settings,
                to="anna@example.com",
                subject="«Сталкер» tonight\r\nBcc: victim@example.com",
                text=text,
                html=html,
                attachments=[("meetup.ics", "text/calendar", ics.encode())],
            )
        )
    [message] = mailbox
    assert message["Subject"] == "«Сталкер» tonight Bcc: victim@example.com"
    assert message["Bcc"] is None
    assert message["From"].addresses[0].display_name == "Кино вместе"
    assert message["From"].addresses[0].addr_spec == "films@example.com"
    assert message["Date"] is not None and message["Message-ID"]
    # (Parsed from the wire, lines end in CRLF, as they did with EmailMessage.)
    assert mailbox.text_of(message).replace("\r\n", "\n").rstrip("\n") == text
    html_part = message.get_body(("html",))
    assert html_part is not None and html_part.get_content().rstrip("\r\n") == html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "meetup.ics"
    assert attachment.get_content() == ics


async def test_a_non_ascii_address_goes_out_with_smtputf8(
    mailbox: Mailbox, smtp_sink: SMTPSink
) -> None:
    settings = get_settings()
    async with Mailer(settings) as mailer:
        await mailer.send(
            build_message(settings, to="анна@пример.рф", subject="Hi", text="Hi", html="Hi")
        )
    [message] = mailbox
    assert str(message["To"]) == "анна@пример.рф"
