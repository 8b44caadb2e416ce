"""Queue an email in the caller's transaction; the worker sends it after commit."""

from __future__ import annotations

import uuid
from typing import Any

from app.core import i18n
from app.core.db import Tx
from app.mail.render import render_email
from app.models.mail import EmailMessage

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
