"""The /admin page in a real browser: headless Chromium (Debian's `chromium` package) opens the
sign-in form, types an admin's email and password, submits, lands on the job monitor and sees the
failed job with its error and retry button. The browser is driven over the DevTools protocol.

`UPDATE_DOCS_SCREENSHOT=1` also saves the screenshot as docs/admin-jobs.png.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from fastapi import FastAPI

from tests.admin.helpers import RunWorker, jobs_in_every_state
from tests.notifications.helpers import BackgroundWorker
from tests.support import browser as cdp
from tests.support.browser import Browser
from tests.support.factories import UserFactory

chromium, live_url, browser = cdp.chromium, cdp.live_url, cdp.browser  # the fixtures

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "admin-jobs.png"


async def test_chromium_signs_in_and_sees_the_failed_job(
    app: FastAPI,
    users: UserFactory,
    run_worker: RunWorker,
    live_url: str,
    browser: Browser,
    tmp_path: Path,
) -> None:
    admin = await users.admin(name="Ada Admin", email="ada@example.com")
    made = await jobs_in_every_state(app.state.redis, run_worker)

    await browser.open(f"{live_url}/admin")
    assert await browser.run("location.pathname") == "/admin/login"  # no cookie yet

    browser.events.clear()
    await browser.run(
        f"""document.getElementById('email').value = {json.dumps(admin.email)};
        document.getElementById('password').value = {json.dumps(admin.password)};
        document.querySelector('form').submit();"""
    )
    await browser.wait_for("Page.loadEventFired")
    assert await browser.run("location.pathname") == "/admin"
    assert await browser.run("document.cookie") == ""  # httpOnly: invisible to scripts

    worker = BackgroundWorker()  # a live worker, so the heartbeat shows too
    try:
        for _ in range(200):
            if await app.state.redis.exists("arq:queue:health-check"):
                break
            await asyncio.sleep(0.02)
        await browser.open(f"{live_url}/admin")
        text = await browser.run("document.body.innerText")
        png = await browser.screenshot()
    finally:
        await worker.kill()

    assert "Recent failures" in text
    assert made.failed in text
    assert "ValueError: badly formed hexadecimal UUID string" in text
    assert "Alive: last heartbeat" in text
    retry_buttons = await browser.run("document.querySelectorAll('tr.failure button').length")
    assert retry_buttons == 1
    assert png.startswith(b"\x89PNG")
    (tmp_path / "admin-jobs.png").write_bytes(png)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        DOCS_SCREENSHOT.write_bytes(png)
