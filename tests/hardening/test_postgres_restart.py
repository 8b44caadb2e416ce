"""PostgreSQL restarted under load: requests fail fast with 503 during the outage, and the app
recovers by itself afterwards (the pool refuses connections the server closed, without a ping
round trip, and reconnects)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from app.core.embedded import EmbeddedServices
from tests.support.factories import TestUser, UserFactory

# A request must not hang while the database is away: connect timeout 5 s, pool timeout 5 s.
FAIL_FAST_S = 6.0


@dataclass
class Load:
    """Readers and writers hitting the API in a loop, recording what each request got."""

    client: httpx.AsyncClient
    member: TestUser
    phase: str = "before"
    results: list[tuple[str, int, str | None, float]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def _one(self, write: bool) -> None:
        phase = self.phase
        started = time.monotonic()
        if write:
            response = await self.client.patch(
                "/api/v1/users/me", json={"bio": f"at {started}"}, headers=self.member.headers
            )
        else:
            response = await self.client.get("/api/v1/auth/me", headers=self.member.headers)
        code = response.json().get("code") if response.status_code >= 400 else None
        # A request that spans a change of phase belongs to neither side of it.
        phase = phase if phase == self.phase else "transition"
        self.results.append((phase, response.status_code, code, time.monotonic() - started))

    async def worker(self, write: bool) -> None:
        while not self.stopping.is_set():
            await self._one(write)
            await asyncio.sleep(0.01)

    def of(self, phase: str) -> list[tuple[str, int, str | None, float]]:
        return [result for result in self.results if result[0] == phase]

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 60) -> None:
        deadline = time.monotonic() + within_s
        while not predicate():
            assert time.monotonic() < deadline, "timed out waiting for the load"
            await asyncio.sleep(0.05)


async def test_postgres_restart_under_load_is_503_then_recovers_by_itself(
    services: EmbeddedServices,
    client: httpx.AsyncClient,
    users: UserFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not services.start_postgres:
        pytest.skip("PostgreSQL is external (TEST_DATABASE_URL): this test cannot restart it")
    member = await users.create()
    load = Load(client, member)
    workers = [asyncio.create_task(load.worker(write=i % 2 == 1)) for i in range(6)]
    stopped = False
    try:
        await load.wait_for(lambda: len(load.of("before")) >= 30)
        load.phase = "stopping"
        with caplog.at_level(logging.WARNING):
            await asyncio.to_thread(services.postgres.stop)
            stopped = True
            load.phase = "down"
            await load.wait_for(lambda: len(load.of("down")) >= 30)
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["services"]["postgres"] == "down"
            load.phase = "starting"
            await asyncio.to_thread(services.postgres.start)
            stopped = False
            load.phase = "after"
            await load.wait_for(lambda: len(load.of("after")) >= 30)
    finally:
        load.stopping.set()
        await asyncio.gather(*workers, return_exceptions=True)
        if stopped:
            services.postgres.start()

    def summary(phase: str) -> set[tuple[int, str | None]]:
        return {(status, code) for _, status, code, _ in load.of(phase)}

    unexpected = [r for r in caplog.records if "unhandled_error" in r.getMessage()]
    assert not unexpected, [r.exc_info[1] for r in unexpected if r.exc_info]
    assert summary("before") == {(200, None)}
    assert summary("stopping") <= {(200, None), (503, "service_unavailable")}, summary("stopping")
    assert summary("down") == {(503, "service_unavailable")}, summary("down")
    assert max(elapsed for *_, elapsed in load.of("down")) < FAIL_FAST_S
    assert summary("starting") <= {(200, None), (503, "service_unavailable")}
    assert summary("transition") <= {(200, None), (503, "service_unavailable")}
    # Recovered without a restart of the app: every request after the restart succeeds.
    assert summary("after") == {(200, None)}, summary("after")
    assert (await client.get("/ready")).status_code == 200
