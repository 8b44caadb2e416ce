"""The production shape without Docker: the real nginx.conf in front of two `meetup serve`
processes and two `meetup worker` processes on one PostgreSQL and Redis. A booking rush goes
through nginx while one API process and one worker are SIGKILLed and restarted. Afterwards: no
seat oversold, every answer a success or a contract error, and every approval's notification
there exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.core.embedded import free_port
from app.events import DomainEvent
from app.models.bookings import Booking, BookingStatus
from app.models.notifications import Notification
from tests.bookings.helpers import seat_state
from tests.deploy.test_deploy_files import _nginx_args, _prepare_conf
from tests.support.factories import TestUser, UserFactory
from tests.support.meetups import MakeAnnouncement

RETRYABLE = {502, 503, 504}


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait_http(url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {within} s")


async def _book(
    http: httpx.AsyncClient, meetup_id: uuid.UUID, guest: TestUser, delay: float
) -> httpx.Response:
    """What a careful client does: on a 502/503/504 or a dropped connection, try again with the same
    Idempotency-Key (the contract makes that safe) until it gets a real answer."""
    await asyncio.sleep(delay)  # arrivals spread over ~2.7 s, so the kills land mid-rush
    headers = {**guest.headers, "Idempotency-Key": f"rush-{guest.id}"}
    for _ in range(40):
        try:
            response = await http.post(
                f"/api/v1/announcements/{meetup_id}/bookings", headers=headers, json={"seats": 1}
            )
        except httpx.TransportError:
            await asyncio.sleep(0.25)
            continue
        if response.status_code not in RETRYABLE:
            return response
        await asyncio.sleep(0.25)
    pytest.fail("no real answer after 40 tries")


async def test_a_rush_through_nginx_survives_killed_api_and_worker(
    tmp_path: Path, users: UserFactory, make_announcement: MakeAnnouncement, db: Database
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(HOST="127.0.0.1", DB_POOL_SIZE="10", DB_MAX_OVERFLOW="5")
    api_ports = [free_port(), free_port()]
    apis = [
        Process(
            f"api{i}",
            [sys.executable, "-m", "app.cli", "serve", "--no-access-log"],
            {**env, "PORT": str(port)},
            tmp_path / f"api{i}.log",
        )
        for i, port in enumerate(api_ports)
    ]
    workers = [
        Process(
            f"worker{i}", [sys.executable, "-m", "app.cli", "worker"], env, tmp_path / f"w{i}.log"
        )
        for i in range(2)
    ]
    nginx_port = free_port()
    conf = _prepare_conf(tmp_path, listen_port=nginx_port, upstream_ports=api_ports)
    nginx = Process(
        "nginx", _nginx_args(tmp_path, conf, "daemon off;"), env, tmp_path / "nginx.log"
    )

    host = await users.create()
    meetups = [await make_announcement(host, approval="auto", tickets_count=12) for _ in range(3)]
    guests = [await users.create() for _ in range(90)]
    try:
        for process in (*apis, *workers, nginx):
            process.start()
        for port in api_ports:
            _wait_http(f"http://127.0.0.1:{port}/ready")
        _wait_http(f"http://127.0.0.1:{nginx_port}/health")

        moments: dict[str, float] = {}

        async def chaos() -> None:
            await asyncio.sleep(0.6)
            apis[0].kill()
            workers[0].kill()
            moments["killed"] = time.monotonic()
            await asyncio.sleep(1.0)
            apis[0].start()
            workers[0].start()
            moments["restarted"] = time.monotonic()

        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{nginx_port}", limits=limits, timeout=30
        ) as http:
            rush = [
                _book(http, meetups[i % len(meetups)].id, guest, i * 0.03)
                for i, guest in enumerate(guests)
            ]
            started = time.monotonic()
            *responses, _ = await asyncio.gather(*rush, chaos())
            finished = time.monotonic()
        assert started < moments["killed"] < moments["restarted"] < finished
        outcomes = {
            (r.status_code, r.json().get("status") or r.json().get("code")) for r in responses
        }
        assert outcomes <= {(201, "approved"), (409, "no_seats")}, outcomes

        for meetup in meetups:
            tickets, counter, recomputed = await seat_state(db, meetup.id)
            assert counter == recomputed == tickets  # sold out, never oversold
        async with db.sessionmaker() as session:
            approved = (
                await session.execute(
                    select(Booking.id, Booking.guest_id).where(
                        Booking.announcement_id.in_([m.id for m in meetups]),  # type: ignore[attr-defined]
                        Booking.status == BookingStatus.approved,
                    )
                )
            ).all()
        assert len(approved) == sum(m.tickets_count for m in meetups)

        # The workers (one of them restarted) deliver every event: poll the database.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            async with db.sessionmaker() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(DomainEvent)
                    .where(
                        DomainEvent.processed_at.is_(None)  # type: ignore[union-attr]
                    )
                )
            if left == 0:
                break
            await asyncio.sleep(0.5)
        assert left == 0, f"{left} events never processed"
        async with db.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Notification.booking_id, Notification.user_id, func.count())
                    .where(Notification.kind == "booking_approved")
                    .group_by(Notification.booking_id, Notification.user_id)
                )
            ).all()
        per_booking = {(booking, user): count for booking, user, count in rows}
        assert per_booking == {(booking, user): 1 for booking, user in approved}
    finally:
        for process in (nginx, *workers, *apis):
            process.stop()
