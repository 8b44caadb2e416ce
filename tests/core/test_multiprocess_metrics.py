"""`meetup serve --workers 2`: every /metrics scrape, whichever process answers it, counts the
requests both processes served."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from app.core.embedded import free_port


def _served_lists(body: str) -> float:
    pattern = r'meetup_http_requests_total\{method="GET",route="/movies",status="200"\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, body))


def test_every_scrape_adds_up_all_processes() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        requests = 60
        for _ in range(requests):  # a new connection each: the kernel spreads them over both
            assert httpx.get(f"{url}/api/v1/movies", timeout=10).status_code == 200
        scrapes = []
        for _ in range(10):
            body = httpx.get(f"{url}/metrics", timeout=10).text
            scrapes.append(_served_lists(body))
        assert scrapes == [float(requests)] * 10
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
