"""Each worker process reports its own health: with two workers running, the monitor and
`meetup worker --check` see both, and a killed one disappears while the other stays visible."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from fastapi import FastAPI

from app.admin import jobs


def _start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _check() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--check"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=30,
    )


async def _workers(app: FastAPI) -> set[str]:
    beat = await jobs.heartbeat(app.state.redis, jobs.health_check_interval())
    return {w.worker for w in beat.workers}


async def _wait_for(app: FastAPI, condition: Callable[[set[str]], bool], within: float) -> set[str]:
    deadline = time.monotonic() + within
    seen = await _workers(app)
    while not condition(seen) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        seen = await _workers(app)
    return seen


async def test_two_workers_report_separately_and_a_dead_one_drops_out(app: FastAPI) -> None:
    assert _check().returncode == 1  # no worker yet
    first, second = _start_worker(), _start_worker()
    try:
        seen = await _wait_for(app, lambda s: len(s) == 2, within=30)
        assert {name.rsplit(":", 1)[1] for name in seen} == {str(first.pid), str(second.pid)}
        check = _check()
        assert check.returncode == 0, check.stdout

        first.send_signal(signal.SIGKILL)  # no goodbye: its key just stops being refreshed
        first.wait(timeout=10)
        interval = jobs.health_check_interval()
        seen = await _wait_for(app, lambda s: len(s) == 1, within=interval + 5)
        assert {name.rsplit(":", 1)[1] for name in seen} == {str(second.pid)}
        assert _check().returncode == 0  # the other one still counts
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=40)
    seen = await _wait_for(app, lambda s: not s, within=jobs.health_check_interval() + 5)
    assert not seen
    assert _check().returncode == 1
