"""Jobs in every state, made with the real worker; the console's sign-in as a browser does it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from arq.connections import ArqRedis

from tests.support.factories import TestUser

RunWorker = Callable[[], Awaitable[int]]


@dataclass
class Jobs:
    failed: str
    complete: str
    queued: str
    deferred: str


async def jobs_in_every_state(redis: ArqRedis, run_worker: RunWorker) -> Jobs:
    """A failed and a complete job (run by a worker), then a queued and a deferred one."""
    await redis.enqueue_job("process_event", "not-a-uuid", _job_id="broken-event")
    await redis.enqueue_job("process_event", str(uuid.uuid4()), _job_id="unknown-event")
    await run_worker()
    await redis.enqueue_job("process_event", str(uuid.uuid4()), _job_id="waiting-event")
    await redis.enqueue_job(
        "send_reminder", str(uuid.uuid4()), "reminder_1h", 0, _job_id="later", _defer_by=3600
    )
    return Jobs(
        failed="broken-event", complete="unknown-event", queued="waiting-event", deferred="later"
    )


def csrf_in(html: str) -> str:
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html)
    assert match, "no CSRF token in the page's form"
    return match.group(1)


async def login_token(browser: httpx.AsyncClient) -> str:
    return csrf_in((await browser.get("/admin/login")).text)


async def sign_in(browser: httpx.AsyncClient, user: TestUser) -> httpx.Response:
    """As a browser does: the form (and its CSRF token), then the post."""
    return await browser.post(
        "/admin/login",
        data={
            "email": user.email,
            "password": user.password,
            "csrf_token": await login_token(browser),
        },
    )


async def console_token(browser: httpx.AsyncClient) -> str:
    """The CSRF token of the console's forms, for the signed-in browser."""
    return csrf_in((await browser.get("/admin")).text)
