"""Delivery of one email: SMTP (aiosmtplib) when SMTP_HOST is set, else the log."""

from __future__ import annotations

from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid

import aiosmtplib

from app.core.config import Settings
from app.core.logging import get_logger

log = get_logger(__name__)


class DeliveryError(Exception):
    """SMTP refused or could not be reached; worth retrying later."""


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> MimeMessage:
    message = MimeMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="moviemeetup")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for filename, mime, content in attachments or []:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


async def deliver(settings: Settings, message: MimeMessage) -> None:
    if not settings.smtp_host:
        # No SMTP configured (development): the log is the mailbox, as API.md documents.
        log.info(
            "email_logged_instead_of_sent",
            to=message["To"],
            subject=message["Subject"],
            body=message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
        )
        return
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls,
            timeout=15,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
