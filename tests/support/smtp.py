"""A real SMTP server in-process (aiosmtpd) that keeps what it receives.

It also counts the connections made to it and can misbehave on demand: drop every connection,
hang up (421) on the next MAIL, refuse chosen recipients for good (550)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

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
        self.hang_up_next = False
        self.refused_recipients: set[str] = set()

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.hang_up_next:
            self.hang_up_next = False
            transport = server.transport
            assert transport is not None
            server.loop.call_soon(transport.close)  # once the reply is written
            return "421 4.3.2 Service shutting down, closing the connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.refused_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 Try again later"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.append(message)
        return "250 OK"


class _CountedSMTP(SMTP):
    """An SMTP session that registers itself with the sink while its connection is open."""

    def __init__(self, handler: _Handler, sink: SMTPSink, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.sink = sink

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # not the STARTTLS upgrade of an open one
            self.sink.connections_made += 1
            self.sink.sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.sink.sessions.discard(self)
        super().connection_lost(error)


class _CountingController(Controller):
    def __init__(self, sink: SMTPSink, port: int) -> None:
        super().__init__(sink.handler, hostname="127.0.0.1", port=port)
        self.sink = sink

    def factory(self) -> SMTP:
        return _CountedSMTP(self.sink.handler, self.sink, **self.SMTP_kwargs)


class SMTPSink:
    def __init__(self, port: int) -> None:
        self.mailbox = Mailbox()
        self.handler = _Handler(self.mailbox)
        # Connections accepted since start (the controller's own start-up probe is one), and the
        # sessions open now; both are changed by the server's thread.
        self.connections_made = 0
        self.sessions: set[SMTP] = set()
        self.controller = _CountingController(self, port)

    @property
    def open_connections(self) -> int:
        return len(self.sessions)

    def drop_connections(self) -> None:
        """Close every open connection from the server's side (as an idle timeout or a restart
        would), without a word to the client."""

        async def drop() -> None:
            for session in list(self.sessions):
                if session.transport is not None:
                    session.transport.close()

        asyncio.run_coroutine_threadsafe(drop(), self.controller.loop).result(timeout=5)

    def hang_up_on_next_mail(self) -> None:
        """Answer the next MAIL FROM with 421 and close that connection."""
        self.handler.hang_up_next = True

    @property
    def refused_recipients(self) -> set[str]:
        """Lower-case addresses refused at RCPT TO with a permanent 550."""
        return self.handler.refused_recipients

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
