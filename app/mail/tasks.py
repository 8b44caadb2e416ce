"""Worker jobs that send queued email, retrying with backoff, and the sweep that finds lost ones."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from sqlalchemy import Update, bindparam, case, select, update
from sqlmodel import col

from app.core import clock
from app.core.db import Database
from app.core.logging import get_logger
from app.mail.sender import DeliveryError, Mailer, build_message, deliver
from app.mail.service import SEND_EMAIL_JOB, job_id
from app.models.mail import EmailMessage, EmailStatus

log = get_logger(__name__)

MAX_ATTEMPTS = 8
ICS_FILENAME = "meetup.ics"
SWEEP_BATCH = 500


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


_email = EmailMessage.__table__  # type: ignore[attr-defined]  # SQLModel sets it, untyped


def _claim_statement() -> Update:
    """Lock the email if it is pending and no other worker holds it (SKIP LOCKED), and in the same
    statement mark it sent, blanking a sensitive body, returning what to send as it was before.

    The change is only seen once the transaction commits, which it does after the SMTP server has
    accepted the message; if the send fails, the row is put back before the commit, and if the
    worker dies the transaction rolls back. One round trip instead of a SELECT ... FOR UPDATE and an
    UPDATE after the send. Built once: constructing it costs more CPU than running it."""
    claimed = (
        select(
            _email.c.id,
            _email.c.to_address,
            _email.c.subject,
            _email.c.text_body,
            _email.c.html_body,
            _email.c.ics_attachment,
            _email.c.attempts,
            _email.c.sensitive,
        )
        .where(_email.c.id == bindparam("email_id"), _email.c.status == EmailStatus.pending)
        .with_for_update(skip_locked=True)
        .cte("claimed")
    )
    now = bindparam("now", type_=_email.c.sent_at.type)
    return (
        update(_email)
        .where(_email.c.id == claimed.c.id)
        .values(
            status=EmailStatus.sent,
            sent_at=now,
            updated_at=now,
            text_body=case((_email.c.sensitive, ""), else_=_email.c.text_body),
            html_body=case((_email.c.sensitive, ""), else_=_email.c.html_body),
        )
        .returning(
            claimed.c.to_address,
            claimed.c.subject,
            claimed.c.text_body,
            claimed.c.html_body,
            claimed.c.ics_attachment,
            claimed.c.attempts,
            claimed.c.sensitive,
        )
    )


_CLAIM = _claim_statement()


def _error_text(exc: Exception, *, sensitive: bool) -> str:
    """What is kept (last_error) and logged of a failed attempt. SMTP replies (DeliveryError) are
    the server's words; any other exception's message might quote what was being built, so of an
    email holding a secret only the exception's type is kept."""
    if isinstance(exc, DeliveryError):
        text = str(exc)
    elif sensitive:
        text = f"{type(exc).__name__} (message not kept: the email holds a secret)"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:2000]


async def send_email(ctx: dict[str, Any], email_id: str) -> str:
    """Send one email. Whatever goes wrong while it is built or sent (the server refusing, an
    address that cannot be used, a bug) is an attempt: counted, kept in last_error, retried with
    backoff under the next attempt's job id, and `failed` after MAX_ATTEMPTS. Only a failure of the
    database itself leaves the row as it was, for the sweep to run this attempt's job again."""
    db: Database = ctx["db"]
    email_uuid = uuid.UUID(email_id)
    async with db.sessionmaker() as session:
        claim = {"email_id": email_uuid, "now": clock.now()}
        email = (await session.execute(_CLAIM, claim)).one_or_none()
        if email is None:  # sent or failed already, gone, or being sent by another worker
            return "skipped"
        try:
            message = build_message(
                ctx["settings"],
                to=email.to_address,
                subject=email.subject,
                text=email.text_body,
                html=email.html_body,
                attachments=(
                    [(ICS_FILENAME, "text/calendar", email.ics_attachment.encode())]
                    if email.ics_attachment
                    else None
                ),
            )
            mailer: Mailer | None = ctx.get("mailer")
            if mailer is None:  # run outside the worker (a script, a test): a connection of its own
                await deliver(ctx["settings"], message)
            else:
                await mailer.send(message)
        except Exception as exc:
            attempts = email.attempts + 1
            error = _error_text(exc, sensitive=email.sensitive)
            failed = attempts >= MAX_ATTEMPTS
            next_attempt_at = clock.now() + backoff(attempts)
            await session.execute(
                update(_email)
                .where(_email.c.id == email_uuid)
                .values(
                    status=EmailStatus.failed if failed else EmailStatus.pending,
                    sent_at=None,
                    text_body=email.text_body,
                    html_body=email.html_body,
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=_email.c.next_attempt_at if failed else next_attempt_at,
                    updated_at=clock.now(),
                )
            )
            await session.commit()
            if failed:
                log.error("email_failed_permanently", email_id=email_id, error=error)
                return "failed"
            log.warning("email_delivery_retry", email_id=email_id, attempts=attempts, error=error)
            await ctx["redis"].enqueue_job(
                SEND_EMAIL_JOB,
                email_id,
                _job_id=job_id(email_uuid, attempts),
                _defer_until=next_attempt_at,
            )
            return "retry"
        await session.commit()
        log.info("email_sent", email_id=email_id)
        return "sent"


async def _finished_without_effect(redis: ArqRedis, job: str) -> bool:
    """arq keeps the result of job `job` (for keep_result) and has no job of that id queued: it ran
    and ended (a database error, or skipped an email another worker held and then let go) without
    sending the email or counting an attempt, and that kept result makes arq refuse the id."""
    return bool(await redis.exists(result_key_prefix + job)) and not await redis.exists(
        job_key_prefix + job
    )


async def enqueue_due_emails(ctx: dict[str, Any]) -> int:
    """Enqueue pending emails that are due; ids make this a no-op for those already queued."""
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(col(EmailMessage.id), col(EmailMessage.attempts))
                .where(
                    col(EmailMessage.status) == EmailStatus.pending,
                    col(EmailMessage.next_attempt_at) <= clock.now(),
                )
                .order_by(col(EmailMessage.next_attempt_at))
                .limit(SWEEP_BATCH)
            )
        ).all()
    redis: ArqRedis = ctx["redis"]
    enqueued = 0
    for email_id, attempts in rows:
        job = job_id(email_id, attempts)
        queued = await redis.enqueue_job(SEND_EMAIL_JOB, str(email_id), _job_id=job)
        if queued is None and await _finished_without_effect(redis, job):
            # The email is still due, so that job is over for it: forget its result and run it
            # again (a job that finds the email sent meanwhile just skips it).
            await redis.delete(result_key_prefix + job)
            queued = await redis.enqueue_job(SEND_EMAIL_JOB, str(email_id), _job_id=job)
        enqueued += queued is not None
    if enqueued:
        log.info("sweep_enqueued_emails", count=enqueued)
    return enqueued
