"""Delivery of email: SMTP (aiosmtplib) when SMTP_HOST is set, else the log.

The worker keeps one `Mailer` for its whole life (app/worker.py puts it in arq's ctx): a few SMTP
connections (SMTP_CONNECTIONS), each opened on first use and reused for every message after, so an
email costs one SMTP transaction (MAIL, RCPT, DATA) instead of also a connect, EHLO, STARTTLS, AUTH
and QUIT. A connection the server has hung up on is noticed when it is next used and reopened (a
send that finds it gone is made again, once, on the new one); one idle for `IDLE_SECONDS` is closed.

The MIME text is written here rather than by `email.message.EmailMessage`, whose header registry
and generator cost about 2 ms of CPU per message (build and flatten), more than everything else a
send does together; this takes about a twentieth of that. The structure is what EmailMessage made:
multipart/alternative (text, HTML), inside multipart/mixed when there are attachments.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import re
import secrets
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from types import TracebackType
from urllib.parse import quote

import aiosmtplib

from app.core.config import Settings
from app.core.logging import get_logger
from app.mail.render import SUBJECT_MAX_CHARS, one_line, shorten

log = get_logger(__name__)

# Each SMTP command (and the connect) may take this long before the send fails and is retried later.
TIMEOUT_SECONDS = 15.0
# A connection unused for this long is closed (servers drop idle ones anyway; Postfix after 300 s).
IDLE_SECONDS = 30.0
# QUIT when closing: a server that does not answer promptly is simply disconnected.
QUIT_TIMEOUT_SECONDS = 5.0


class DeliveryError(Exception):
    """SMTP refused or could not be reached; worth retrying later."""


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """An email ready for SMTP: the envelope and the message (`data`, MIME with CRLF lines)."""

    sender: str
    recipient: str
    subject: str
    text: str  # for the log, when no SMTP server is configured
    data: bytes

    @property
    def mail_options(self) -> list[str]:
        # An address that is not ASCII travels as is (RFC 6531/6532), which the server must allow.
        return [] if (self.sender + self.recipient).isascii() else ["SMTPUTF8"]


# A subject folded into lines of at most this many characters (RFC 5322 recommends 78).
HEADER_LINE_CHARS = 78


def _encoded_header(value: str) -> str:
    """One clean line (`one_line`: no CR, LF, NEL, U+2028/2029 nor other controls, which would end
    the header for some reader and start one of the sender's choosing), cut to a sane length, and
    folded (RFC 2047 encoded words when not ASCII) so that no line of it is long."""
    value = shorten(one_line(value), SUBJECT_MAX_CHARS)
    if value.isascii() and len(value) <= HEADER_LINE_CHARS - len("Subject: "):
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name="Subject").encode(
        linesep="\r\n", maxlinelen=HEADER_LINE_CHARS
    )


def _address(value: str) -> str:
    """An address for the envelope and a header: refused (the email cannot be built, which is an
    attempt that failed) rather than cleaned into someone else's address."""
    address = value.strip()
    if not address or _NOT_AN_ADDRESS.search(address):
        raise ValueError("the address is empty or holds a space, a line break or a control")
    return address


_NOT_AN_ADDRESS = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029<>\"]")


def _entity(headers: str, body: bytes) -> bytes:
    return headers.encode() + b"\r\n" + body


def _text_part(subtype: str, text: str) -> bytes:
    body = binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True)
    return _entity(
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n",
        body.replace(b"\n", b"\r\n"),
    )


def _attachment(filename: str, mime: str, content: bytes) -> bytes:
    content_type = f'{mime}; charset="utf-8"' if mime.startswith("text/") else mime
    name = shorten(one_line(filename).replace('"', "").replace("\\", ""), 100) or "attachment"
    # A name that is not ASCII goes as an RFC 2231 parameter (percent-encoded UTF-8).
    parameter = f'filename="{name}"' if name.isascii() else f"filename*=utf-8''{quote(name)}"
    return _entity(
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; {parameter}\r\n",
        base64.encodebytes(content).replace(b"\n", b"\r\n"),
    )


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    # "=_" occurs in neither quoted-printable nor base64, so the parts cannot contain the boundary.
    boundary = f"=_{secrets.token_hex(16)}".encode()
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return _entity(
        f'Content-Type: multipart/{subtype}; boundary="{boundary.decode()}"\r\n',
        body + b"--" + boundary + b"--\r\n",
    )


_NAME_AND_ADDRESS = re.compile(r"^(?P<name>.*)<(?P<address>[^<>]*)>\s*$", re.DOTALL)


@functools.cache
def _from(smtp_from: str) -> tuple[str, str]:
    """SMTP_FROM ("Name <address>") as the envelope sender and the From header. The address is the
    one in the last angle brackets (parseaddr takes a display name with a colon for a group and
    loses it); the name is made one clean line."""
    match = _NAME_AND_ADDRESS.match(smtp_from.strip())
    if match:
        name, address = match["name"].strip().strip('"'), match["address"]
    else:
        name, address = parseaddr(smtp_from)
    address = _address(address)
    return address, formataddr((one_line(name), address), charset="utf-8")


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> OutgoingEmail:
    """The MIME message. Raises ValueError for an address that cannot be sent to."""
    sender, from_header = _from(settings.smtp_from)
    recipient = _address(to)
    body = _multipart("alternative", [_text_part("plain", text), _text_part("html", html)])
    if attachments:
        body = _multipart("mixed", [body, *(_attachment(*a) for a in attachments)])
    subject = one_line(subject)
    headers = (
        f"From: {from_header}\r\n"
        f"To: {recipient}\r\n"
        f"Subject: {_encoded_header(subject)}\r\n"
        f"Date: {formatdate()}\r\n"
        f"Message-ID: {make_msgid(domain='moviemeetup')}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    return OutgoingEmail(
        sender=sender, recipient=recipient, subject=subject, text=text, data=headers.encode() + body
    )


def _hung_up(exc: BaseException) -> bool:
    """The server closed the connection (idle timeout, restart): worth one more try on a new one."""
    if isinstance(exc, ConnectionError):  # SMTPServerDisconnected, a reset, a broken pipe
        return True
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return any(refused.code == 421 for refused in exc.recipients)
    # 421: "service not available, closing transmission channel".
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code == 421


class _Connection:
    """One SMTP session; it carries one transaction at a time, so callers hold `lock`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = asyncio.Lock()
        self.users = 0  # holding or waiting for the lock
        self.last_used = 0.0
        self._smtp: aiosmtplib.SMTP | None = None

    @property
    def is_open(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    async def send(self, message: OutgoingEmail) -> None:
        reused = self.is_open
        try:
            try:
                await self._transaction(message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                if not (reused and _hung_up(exc)):
                    raise
                log.info("smtp_reconnecting", error=f"{type(exc).__name__}: {exc}")
                self.discard()
                await self._transaction(message)
        except BaseException:
            # Refused, timed out, cancelled mid-transaction: whatever state the session is in, the
            # next message gets a fresh one.
            self.discard()
            raise
        self.last_used = time.monotonic()

    async def _transaction(self, message: OutgoingEmail) -> None:
        smtp = self._smtp
        if smtp is None or not smtp.is_connected:  # never opened, or the server has hung up
            smtp = await self._open()
        await smtp.sendmail(
            message.sender, [message.recipient], message.data, mail_options=message.mail_options
        )

    async def _open(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user,
            password=s.smtp_password,
            start_tls=s.smtp_starttls,
            timeout=TIMEOUT_SECONDS,
        )
        self.discard()
        await smtp.connect()  # EHLO, STARTTLS and AUTH as configured
        self._smtp = smtp
        return smtp

    def discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def quit(self) -> None:
        if self.is_open and self._smtp is not None:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self._smtp.quit(timeout=QUIT_TIMEOUT_SECONDS)
        self.discard()


class Mailer:
    """Sends email over up to `connections` SMTP connections kept open between messages."""

    def __init__(
        self,
        settings: Settings,
        *,
        connections: int | None = None,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.settings = settings
        self.idle_seconds = idle_seconds
        size = connections if connections is not None else settings.smtp_connections
        self._connections = [_Connection(settings) for _ in range(max(1, size))]
        self._closer: asyncio.Task[None] | None = None
        if not settings.smtp_host and settings.env == "production":
            log.warning("smtp_not_configured", detail="emails are logged, without their bodies")

    async def __aenter__(self) -> Mailer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def open_connections(self) -> int:
        return sum(c.is_open for c in self._connections)

    async def send(self, message: OutgoingEmail) -> None:
        """Raises DeliveryError if the server refused the message or could not be reached."""
        if not self.settings.smtp_host:
            # No SMTP configured (development): the log is the mailbox, as the README's tour uses.
            # In production the body, which may hold a code or a reset token, is left out (and the
            # subjects of those emails carry no secret).
            production = self.settings.env == "production"
            log.info(
                "email_logged_instead_of_sent",
                to=message.recipient,
                subject=message.subject,
                body="[not logged in production]" if production else message.text,
            )
            return
        # The first free connection, else the one with the fewest waiting: when mail is sparse only
        # the first is used and the others stay closed (or are closed once idle).
        connection = min(self._connections, key=lambda c: c.users)
        connection.users += 1
        try:
            async with connection.lock:
                await connection.send(message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            connection.users -= 1
        if self._closer is None:
            self._closer = asyncio.create_task(self._close_idle(), name="smtp-close-idle")

    async def _close_idle(self) -> None:
        while True:
            await asyncio.sleep(self.idle_seconds / 2)
            for connection in self._connections:
                idle = time.monotonic() - connection.last_used >= self.idle_seconds
                if connection.users == 0 and connection.is_open and idle:
                    connection.users += 1
                    try:
                        async with connection.lock:
                            await connection.quit()
                    finally:
                        connection.users -= 1

    async def close(self) -> None:
        """QUIT every open connection (one still in use is just disconnected)."""
        if self._closer is not None:
            self._closer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._closer
            self._closer = None
        for connection in self._connections:
            if connection.users:
                connection.discard()
            else:
                await connection.quit()


async def deliver(settings: Settings, message: OutgoingEmail) -> None:
    """Send one email over a connection of its own, for code outside the worker (whose jobs share
    the worker's `Mailer`)."""
    async with Mailer(settings, connections=1) as mailer:
        await mailer.send(message)
