"""Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol, against the
test app served over real HTTP. Shared by the admin and the web browser tests.

A test module takes the fixtures it uses by name:
`chromium, live_url, browser = cdp.chromium, cdp.live_url, cdp.browser` (after
`from tests.support import browser as cdp`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
import websockets
from fastapi import FastAPI

from app.core.embedded import free_port
from tests.support.system_tools import require_binary

DESKTOP = (1280, 800)
PHONE = (390, 844)


def find_chromium() -> str:
    return require_binary("chromium", "chromium-browser", install="apt-get install -y chromium")


@pytest.fixture
def chromium() -> str:
    return find_chromium()


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """`app` served over real HTTP on a free port, for as long as the block runs."""
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


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The test app served over real HTTP (the browser cannot use an in-process transport)."""
    async with serve(app) as url:
        yield url


class Browser:
    """Just enough of the DevTools protocol: a tab, navigation, script, screenshot.

    `new_tab()` opens another tab in a fresh browser context (its own cookies): a second person.
    Tabs share the socket and are used one at a time.
    """

    ids = itertools.count(1)

    def __init__(self, socket: Any, session_id: str) -> None:
        self.socket = socket
        self.session_id = session_id
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, socket: Any, *, isolated: bool = False) -> Browser:
        browser = cls(socket, "")
        params: dict[str, Any] = {"url": "about:blank"}
        if isolated:
            context = await browser.send("Target.createBrowserContext", session=False)
            params["browserContextId"] = context["browserContextId"]
        target = await browser.send("Target.createTarget", session=False, **params)
        attached = await browser.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True, session=False
        )
        browser.session_id = attached["sessionId"]
        await browser.send("Page.enable")
        await browser.viewport(1280, 900)
        return browser

    async def new_tab(self) -> Browser:
        return await Browser.start(self.socket, isolated=True)

    async def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    async def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
        return message

    async def send(self, method: str, *, session: bool = True, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session_id
        await self.socket.send(json.dumps(message))
        while True:
            reply = await self._receive()
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if reply.get("sessionId") == self.session_id:
                self.events.append(reply)

    async def wait_for(self, event: str) -> None:
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[: i + 1]
                    return
            reply = await self._receive()
            if reply.get("sessionId") == self.session_id:
                self.events.append(reply)

    async def open(self, url: str) -> None:
        self.events.clear()
        await self.send("Page.navigate", url=url)
        await self.wait_for("Page.loadEventFired")

    async def run(self, script: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=script, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def run_and_load(self, script: str) -> None:
        """Run a script that navigates (a click on a submit button), wait for the new page."""
        self.events.clear()
        await self.run(script)
        await self.wait_for("Page.loadEventFired")

    async def fill(self, values: dict[str, str]) -> None:
        """Type into the fields with these ids."""
        await self.run(
            f"""for (const [id, value] of Object.entries({json.dumps(values)})) {{
                const field = document.getElementById(id);
                if (!field) throw new Error('no field #' + id);
                field.value = value;
                field.dispatchEvent(new Event('input', {{bubbles: true}}));
            }}"""
        )

    async def click(self, selector: str) -> None:
        """Click what `selector` finds and wait for the page it leads to."""
        await self.run_and_load(
            f"""(() => {{
                const target = document.querySelector({json.dumps(selector)});
                if (!target) throw new Error('nothing matches ' + {json.dumps(selector)});
                target.click();
            }})()"""
        )

    async def wait_until(self, condition: str, *, seconds: float = 10) -> None:
        for _ in range(int(seconds / 0.05)):
            if await self.run(condition):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"still false after {seconds}s: {condition}")

    async def text(self) -> str:
        return str(await self.run("document.body.innerText"))

    async def path(self) -> str:
        return str(await self.run("location.pathname + location.search"))

    async def screenshot(self, *, full_page: bool = True) -> bytes:
        shot = await self.send(
            "Page.captureScreenshot", format="png", captureBeyondViewport=full_page
        )
        return base64.b64decode(shot["data"])


@asynccontextmanager
async def launch(chromium_path: str) -> AsyncIterator[Browser]:
    """A headless Chromium with a throwaway profile, and its first tab."""
    profile = tempfile.mkdtemp(prefix="meetup-chromium-")
    process = await asyncio.create_subprocess_exec(
        chromium_path,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
        "--hide-scrollbars",
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


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with launch(chromium) as tab:
        yield tab
