"""The console in a real browser: headless Chromium (Debian's `chromium` package, driven over the
DevTools protocol) signs in, sees the throughput chart drawn from the jobs a real worker ran, the
live worker with its heartbeat and the failed job; the live panel then refreshes through htmx
without reloading the page, and a failed job's page shows its traceback.

`UPDATE_DOCS_SCREENSHOT=1` also saves the screenshot as docs/admin-jobs.png.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

from fastapi import FastAPI

from tests.admin.helpers import RunWorker, jobs_in_every_state
from tests.notifications.helpers import BackgroundWorker
from tests.support import browser as cdp
from tests.support.browser import Browser
from tests.support.factories import UserFactory

chromium, live_url, browser = cdp.chromium, cdp.live_url, cdp.browser  # the fixtures

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "admin-jobs.png"


async def test_chromium_signs_in_and_sees_the_chart_the_workers_and_the_failure(
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
    assert await browser.path() == "/admin/login"  # no cookie yet
    await browser.fill({"email": admin.email, "password": admin.password})
    await browser.click("form button[type=submit]")
    assert await browser.path() == "/admin"
    assert await browser.run("document.cookie") == ""  # httpOnly: invisible to scripts

    worker = BackgroundWorker()  # a live worker, so the heartbeat shows too
    try:
        for _ in range(200):
            if await app.state.redis.exists("arq:queue:health-check"):
                break
            await asyncio.sleep(0.02)
        await browser.open(f"{live_url}/admin")
        text = await browser.text()
        # The chart: one bar part for the run that completed, one for the run that failed.
        assert (
            await browser.run(
                "document.querySelectorAll('#throughput-chart rect.completed').length"
            )
            >= 1
        )
        assert (
            await browser.run("document.querySelectorAll('#throughput-chart rect.failed').length")
            == 1
        )
        chart_box = await browser.run(
            "(() => { const r = document.getElementById('throughput-chart').getBoundingClientRect();"
            " return [r.width, r.height]; })()"
        )
        png = await browser.screenshot()

        # The live panel refreshes in place: a job run now shows up without a page load.
        await browser.run("window.stillTheSamePage = true")
        before = int(await browser.run("document.getElementById('processed').innerText"))
        await app.state.redis.enqueue_job("process_event", str(uuid.uuid4()), _job_id="fresh")
        await browser.run("htmx.trigger('#live', 'every')")  # what the 10 s timer fires
        await browser.wait_until(
            f"Number(document.getElementById('processed').innerText) > {before}", seconds=15
        )
        assert await browser.run("window.stillTheSamePage") is True
    finally:
        await worker.kill()

    assert "Throughput" in text and "Recent failures" in text
    assert chart_box[0] > 300 and chart_box[1] > 50  # drawn, not an empty box
    assert made.failed in text
    assert "ValueError: badly formed hexadecimal UUID string" in text
    assert "Alive: last heartbeat" in text
    assert await browser.run("document.querySelectorAll('tr.failure button').length") == 2
    assert png.startswith(b"\x89PNG")
    (tmp_path / "admin-jobs.png").write_bytes(png)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        DOCS_SCREENSHOT.write_bytes(png)

    # The failed job's page, reached by its link: arguments, tries and the traceback.
    await browser.click(f"#recent-failures a[href='/admin/jobs/{made.failed}']")
    detail = await browser.text()
    assert "'not-a-uuid'" in detail
    assert "Traceback (most recent call last)" in detail
    assert "uuid.UUID(event_id)" in detail
    assert json.loads(await browser.run("JSON.stringify(location.pathname)")) == (
        f"/admin/jobs/{made.failed}"
    )
