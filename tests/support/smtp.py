"""A real SMTP server in-process (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox(list[EmailMessage]):
    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self if address.lower() in str(m["To"]).lower()]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        body = message.get_body(("plain",))
        assert body is not None, "email has no text part"
        return str(body.get_content())


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 Try again later"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.append(message)
        return "250 OK"


class SMTPSink:
    def __init__(self, port: int) -> None:
        self.mailbox = Mailbox()
        self.handler = _Handler(self.mailbox)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    @property
    def refuse(self) -> bool:
        return self.handler.refuse

    @refuse.setter
    def refuse(self, value: bool) -> None:
        self.handler.refuse = value

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
