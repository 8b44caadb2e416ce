"""Queue an email in the caller's transaction; the worker sends it after commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock, i18n
from app.core.db import Tx
from app.core.errors import NotFound
from app.core.i18n import N_
from app.mail.errors import EmailNotFailed
from app.mail.render import render_email
from app.models.mail import EmailMessage, EmailStatus

SEND_EMAIL_JOB = "send_email"


def job_id(email_id: uuid.UUID, attempts: int) -> str:
    # The attempt number is part of the id: a retry is a new job, a duplicate enqueue is a no-op.
    return f"email:{email_id}:{attempts}"


async def queue_email(
    tx: Tx,
    *,
    to: str,
    template: str,
    locale: str = i18n.DEFAULT,
    sensitive: bool = False,
    **context: Any,
) -> EmailMessage:
    """`template` rendered in `locale` (the recipient's) and queued."""
    rendered = render_email(template, locale=locale, **context)
    email = EmailMessage(
        to_address=to,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        sensitive=sensitive,
    )
    tx.session.add(email)
    await tx.session.flush()
    tx.enqueue_after_commit(SEND_EMAIL_JOB, str(email.id), job_id=job_id(email.id, email.attempts))
    return email


async def resend(tx: Tx, email_id: uuid.UUID) -> EmailMessage:
    """An email that failed for good, pending again with a fresh count of attempts, and its job
    enqueued after commit (under an id of its own: the old attempts' results may still be kept;
    were this enqueue lost, the minute sweep sends it, as any pending email)."""
    now = clock.now()
    email = (
        await tx.session.scalars(
            update(EmailMessage)
            .where(col(EmailMessage.id) == email_id, col(EmailMessage.status) == EmailStatus.failed)
            .values(status=EmailStatus.pending, attempts=0, next_attempt_at=now, updated_at=now)
            .returning(EmailMessage)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if email is None:
        if await tx.session.get(EmailMessage, email_id) is None:
            raise NotFound(N_("No such email."))
        raise EmailNotFailed()
    tx.enqueue_after_commit(
        SEND_EMAIL_JOB, str(email.id), job_id=f"email:{email.id}:resend:{uuid.uuid4().hex[:12]}"
    )
    return email


async def failed_emails(
    session: AsyncSession, *, offset: int = 0, limit: int = 20
) -> tuple[list[EmailMessage], int]:
    """(a page of the emails that failed for good, latest first, and how many there are)."""
    failed = col(EmailMessage.status) == EmailStatus.failed
    total = await session.scalar(select(func.count()).select_from(EmailMessage).where(failed))
    rows = await session.scalars(
        select(EmailMessage)
        .where(failed)
        .order_by(col(EmailMessage.updated_at).desc(), col(EmailMessage.id))
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total or 0)
