"""Worker jobs that send queued email, retrying with backoff, and the sweep that finds lost ones."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.core import clock
from app.core.db import Database
from app.core.logging import get_logger
from app.mail.models import EmailMessage, EmailStatus
from app.mail.sender import DeliveryError, build_message, deliver
from app.mail.service import SEND_EMAIL_JOB, job_id

log = get_logger(__name__)

MAX_ATTEMPTS = 8
ICS_FILENAME = "meetup.ics"
SWEEP_BATCH = 500


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


async def send_email(ctx: dict[str, Any], email_id: str) -> str:
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        # The row lock keeps two workers from sending the same email at once.
        email = await session.get(
            EmailMessage, uuid.UUID(email_id), with_for_update={"skip_locked": True}
        )
        if email is None or email.status != EmailStatus.pending:
            return "skipped"
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
        try:
            await deliver(ctx["settings"], message)
        except DeliveryError as exc:
            email.attempts += 1
            email.last_error = str(exc)[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = EmailStatus.failed
                log.error("email_failed_permanently", email_id=email_id, error=email.last_error)
                await session.commit()
                return "failed"
            email.next_attempt_at = clock.now() + backoff(email.attempts)
            await session.commit()
            log.warning(
                "email_delivery_retry",
                email_id=email_id,
                attempts=email.attempts,
                error=email.last_error,
            )
            await ctx["redis"].enqueue_job(
                SEND_EMAIL_JOB,
                email_id,
                _job_id=job_id(email.id, email.attempts),
                _defer_until=email.next_attempt_at,
            )
            return "retry"
        email.status = EmailStatus.sent
        email.sent_at = clock.now()
        if email.sensitive:
            email.text_body = email.html_body = ""
        await session.commit()
        log.info("email_sent", email_id=email_id)
        return "sent"


async def enqueue_due_emails(ctx: dict[str, Any]) -> int:
    """Enqueue pending emails that are due; ids make this a no-op for those already queued."""
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(EmailMessage.id, EmailMessage.attempts)
                .where(
                    EmailMessage.status == EmailStatus.pending,
                    EmailMessage.next_attempt_at <= clock.now(),
                )
                .order_by(EmailMessage.next_attempt_at)
                .limit(SWEEP_BATCH)
            )
        ).all()
    enqueued = 0
    for email_id, attempts in rows:
        job = await ctx["redis"].enqueue_job(
            SEND_EMAIL_JOB, str(email_id), _job_id=job_id(email_id, attempts)
        )
        enqueued += job is not None
    if enqueued:
        log.info("sweep_enqueued_emails", count=enqueued)
    return enqueued
