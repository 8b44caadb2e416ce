"""The embedded PostgreSQL and Redis start, keep their data across restarts, and leave nothing behind;
`meetup dev` serves and stops cleanly on SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
import redis.asyncio as aioredis

from app.core.embedded import EmbeddedServices, free_port


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_embedded_services_keep_data_across_restarts_and_stop_cleanly(tmp_path: Path) -> None:
    services = EmbeddedServices(tmp_path, free_port(), free_port())
    services.start()
    pids = [services.postgres.process.pid, services.redis.process.pid]  # type: ignore[union-attr]
    pg_url = services.postgres.url.replace("+asyncpg", "")
    conn = await asyncpg.connect(pg_url)
    await conn.execute("CREATE TABLE kept (value text)")
    await conn.execute("INSERT INTO kept VALUES ('still here')")
    await conn.close()
    client = aioredis.from_url(services.redis.url)
    await client.set("kept", "still here")
    await client.aclose()

    services.stop()
    assert not any(_alive(pid) for pid in pids)

    services.start()
    try:
        conn = await asyncpg.connect(pg_url)
        assert await conn.fetchval("SELECT value FROM kept") == "still here"
        await conn.close()
        client = aioredis.from_url(services.redis.url)
        assert await client.get("kept") == b"still here"
        await client.aclose()
    finally:
        services.stop()


def test_leftover_server_from_a_killed_run_is_stopped_at_next_start(tmp_path: Path) -> None:
    first = EmbeddedServices(tmp_path, free_port(), free_port(), start_redis=False)
    first.start()
    orphan = first.postgres.process
    assert orphan is not None
    first.postgres.process = None  # as if the owner was SIGKILLed: nobody will stop it
    second = EmbeddedServices(tmp_path, free_port(), free_port(), start_redis=False)
    try:
        second.start()
        orphan.wait(timeout=10)
        assert orphan.returncode is not None
    finally:
        second.stop()


def _children_named(root: psutil.Process, *names: str) -> list[psutil.Process]:
    found = []
    for child in root.children(recursive=True):
        try:
            if any(n in " ".join(child.cmdline()) for n in names):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_meetup_dev_serves_then_sigint_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SMTP_HOST"}
    }
    env.update(
        DATA_DIR=str(tmp_path),
        PORT=str(port),
        EMBEDDED_POSTGRES_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        ENV="development",
    )
    meetup = Path(sys.executable).parent / "meetup"
    process = subprocess.Popen(
        [str(meetup), "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        servers = _children_named(psutil.Process(process.pid), "postgres", "valkey-server")
        assert len(servers) >= 2

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        time.sleep(0.2)
        assert not [s for s in servers if _alive(s.pid)]
    finally:
        if process.poll() is None:
            process.kill()


def test_a_private_data_directory_works_and_no_parent_permission_changes(tmp_path: Path) -> None:
    """A clone under root's home or a `mktemp -d` (mode 0700): the servers start, and not one
    directory above the data directory gains a permission bit."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data_dir = private / "clone" / ".data"
    watched = [private / "clone", private, *private.parents]
    (private / "clone").mkdir()
    before = {str(d): d.stat().st_mode for d in watched}
    services = EmbeddedServices(data_dir, free_port(), free_port())
    services.start()
    try:
        assert services.postgres._psql("SELECT 1") == "1"
    finally:
        services.stop()
    assert {str(d): d.stat().st_mode for d in watched} == before
