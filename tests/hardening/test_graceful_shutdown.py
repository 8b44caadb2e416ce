"""SIGTERM is a graceful stop: `meetup serve` finishes the request in flight and exits 0;
`meetup worker` finishes the job it is running (it stops taking new ones) and exits 0.

Both run as real subprocesses on the test PostgreSQL and Redis (their URLs are in os.environ).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select, update

from app.core.db import Database
from app.core.embedded import free_port
from app.models.mail import EmailMessage, EmailStatus
from app.models.users import User

PASSWORD = "a slow password to check"


@contextmanager
def meetup(command: str, log_path: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", command],
            env={**os.environ, "LOG_FORMAT": "json", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while True:
            assert process.poll() is None, "the server exited during start-up"
            assert time.monotonic() < deadline, "the server did not become ready"
            try:
                if (await http.get("/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


async def test_api_finishes_the_request_in_flight_after_sigterm_and_exits_0(
    db: Database, tmp_path: Path
) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    # A costly argon2 makes every password check take a couple of seconds: a naturally slow request.
    with meetup(
        "serve",
        log_path,
        HOST="127.0.0.1",
        PORT=str(port),
        PASSWORD_HASH_MEMORY_KIB="65536",
        PASSWORD_HASH_TIME_COST="50",
    ) as process:
        url = f"http://127.0.0.1:{port}"
        await wait_until_ready(url, process)
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            started = time.monotonic()
            registered = await http.post(
                "/api/v1/auth/register",
                json={"email": "slow@example.com", "password": PASSWORD, "name": "Slow"},
            )
            assert registered.status_code == 201, registered.text
            hash_seconds = time.monotonic() - started
            assert hash_seconds > 0.5, "the password hash is not slow enough for this test"
            async with db.sessionmaker() as session, session.begin():
                await session.execute(
                    update(User).where(User.email == "slow@example.com").values(is_confirmed=True)
                )

            login = asyncio.create_task(
                http.post(
                    "/api/v1/auth/login", json={"email": "slow@example.com", "password": PASSWORD}
                )
            )
            await asyncio.sleep(hash_seconds / 4)  # the request reaches the server
            assert not login.done(), "the login answered before SIGTERM could be sent"
            process.send_signal(signal.SIGTERM)
            response = await login
        assert response.status_code == 200, response.text
        assert response.json()["access_token"]
        assert await asyncio.to_thread(process.wait, 30) == 0
    log = log_path.read_text()
    assert "Shutting down" in log or "shutdown" in log.lower()
    assert PASSWORD not in log
    assert response.json()["access_token"] not in log


class SlowMailServer:
    """An SMTP server that takes `delay` seconds to accept each message (a slow job's cause)."""

    def __init__(self, port: int, delay: float) -> None:
        self.delay = delay
        self.receiving = threading.Event()
        self.received: list[bytes] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.receiving.set()
        await asyncio.sleep(self.delay)  # the SMTP server's own loop, in its own thread
        self.received.append(bytes(envelope.original_content or b""))
        return "250 OK"


async def test_worker_finishes_its_running_job_after_sigterm_and_exits_0(
    client: httpx.AsyncClient, db: Database, tmp_path: Path
) -> None:
    smtp_port = free_port()
    mail_server = SlowMailServer(smtp_port, delay=2.0)
    mail_server.controller.start()
    try:
        with meetup("worker", tmp_path / "worker.log", SMTP_PORT=str(smtp_port)) as process:
            registered = await client.post(
                "/api/v1/auth/register",
                json={"email": "queued@example.com", "password": PASSWORD, "name": "Queued"},
            )
            assert registered.status_code == 201
            # The worker is in the middle of send_email: the mail server is receiving the message.
            assert await asyncio.to_thread(mail_server.receiving.wait, 60)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        mail_server.controller.stop()

    assert len(mail_server.received) == 1
    async with db.sessionmaker() as session:
        statuses = (await session.scalars(select(EmailMessage.status))).all()
    assert statuses == [EmailStatus.sent]
    log = (tmp_path / "worker.log").read_text()
    assert "SIGTERM" in log
    assert PASSWORD not in log
