"""The /admin page in a real browser: headless Chromium (Debian's `chromium` package) opens the
sign-in form, types an admin's email and password, submits, lands on the job monitor and sees the
failed job with its error and retry button. The browser is driven over the DevTools protocol.

`UPDATE_DOCS_SCREENSHOT=1` also saves the screenshot as docs/admin-jobs.png.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets
from fastapi import FastAPI

from app.core.embedded import free_port
from tests.admin.helpers import RunWorker, jobs_in_every_state
from tests.notifications.helpers import BackgroundWorker
from tests.support.factories import UserFactory
from tests.support.system_tools import require_binary

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "admin-jobs.png"


@pytest.fixture
def chromium() -> str:
    return require_binary("chromium", "chromium-browser", install="apt-get install -y chromium")


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The test app served over real HTTP (the browser cannot use an in-process transport)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Browser:
    """Just enough of the DevTools protocol: one tab, navigation, script, screenshot."""

    def __init__(self, socket: Any, session_id: str) -> None:
        self.socket = socket
        self.session_id = session_id
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, socket: Any) -> Browser:
        browser = cls(socket, "")
        target = await browser.send("Target.createTarget", url="about:blank", session=False)
        attached = await browser.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True, session=False
        )
        browser.session_id = attached["sessionId"]
        await browser.send("Page.enable")
        await browser.send(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        return browser

    async def send(self, method: str, *, session: bool = True, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session_id
        await self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    async def wait_for(self, event: str) -> None:
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[: i + 1]
                    return
            self.events.append(json.loads(await asyncio.wait_for(self.socket.recv(), 30)))

    async def open(self, url: str) -> None:
        self.events.clear()
        await self.send("Page.navigate", url=url)
        await self.wait_for("Page.loadEventFired")

    async def run(self, script: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=script, returnByValue=True)
        return result["result"].get("value")

    async def screenshot(self) -> bytes:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        return base64.b64decode(shot["data"])


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    profile = tempfile.mkdtemp(prefix="meetup-chromium-")
    process = await asyncio.create_subprocess_exec(
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    stderr = process.stderr

    async def drain() -> None:  # Chromium keeps logging; a full pipe would stall it
        while await stderr.readline():
            pass

    drainer = None
    try:
        endpoint = None
        for _ in range(200):
            line = (await asyncio.wait_for(stderr.readline(), 30)).decode(errors="replace")
            if match := re.search(r"DevTools listening on (ws://\S+)", line):
                endpoint = match.group(1)
                break
        assert endpoint, "Chromium did not open its DevTools endpoint"
        drainer = asyncio.create_task(drain())
        async with websockets.connect(endpoint, max_size=None) as socket:
            yield await Browser.start(socket)
    finally:
        process.terminate()
        await process.wait()
        if drainer is not None:
            await drainer
        shutil.rmtree(profile, ignore_errors=True)


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
