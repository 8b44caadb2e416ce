from __future__ import annotations

import re

import httpx

from tests.support.factories import DEFAULT_PASSWORD as PASSWORD
from tests.support.smtp import Mailbox


def code_in(mailbox: Mailbox, email: str) -> str:
    messages = mailbox.to(email)
    assert messages, f"no email reached {email}"
    match = re.search(r"\b(\d{6})\b", Mailbox.text_of(messages[-1]))
    assert match, "no 6-digit code in the email"
    return match.group(1)


def reset_token_in(mailbox: Mailbox, email: str) -> str:
    messages = mailbox.to(email)
    assert messages, f"no email reached {email}"
    match = re.search(r"^ {4}(\S{20,})\r?$", Mailbox.text_of(messages[-1]), re.MULTILINE)
    assert match, "no reset token in the email"
    return match.group(1)


async def register(client: httpx.AsyncClient, email: str, name: str = "Ann") -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
