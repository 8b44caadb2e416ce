"""`make bench`: embedded PostgreSQL and Redis in a temporary directory on free ports, the app in its
production shape (`meetup serve`), data written with SQL, the scenarios of issues 9 and 12, and the
results in bench/results/<date>.json and bench/README.md, beside the previous run's. See
bench/README.md for the knobs (BENCH_*).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import console, data, fanout, report, scenarios
from bench.infra import (
    ROOT,
    VENV_BIN,
    Monitor,
    Service,
    ensure_wrk,
    process_tree,
    wait_http,
)
from bench.load import Loader

RESULTS = ROOT / "bench" / "results"


def _env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def config() -> scenarios.Config:
    cpus = os.cpu_count() or 1
    cpu = os.environ.get("BENCH_LOADGEN_CPU", str(cpus - 1) if cpus > 1 else "")
    only = _env_list("BENCH_ONLY", "")
    return scenarios.Config(
        workers=int(os.environ.get("BENCH_WORKERS", "2")),
        duration=float(os.environ.get("BENCH_DURATION", "6")),
        warmup=float(os.environ.get("BENCH_WARMUP", "2")),
        connections=[int(c) for c in _env_list("BENCH_CONNECTIONS", "16,64")],
        guests=int(os.environ.get("BENCH_GUESTS", "50000")),
        hosts=int(os.environ.get("BENCH_HOSTS", "1000")),
        read_announcements=int(os.environ.get("BENCH_READ_ANNOUNCEMENTS", "100000")),
        fanout=int(os.environ.get("BENCH_FANOUT", "10000")),
        rate_fraction=float(os.environ.get("BENCH_RATE_FRACTION", "0.5")),
        loadgen_cpu=int(cpu) if cpu else None,
        only=set(only) or None,
        burst=int(os.environ.get("BENCH_BURST", "64")),
    )


def _version(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    return (result.stdout or result.stderr).strip().splitlines()[0]


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


async def versions(
    conn: asyncpg.Connection, wrk: str, pgbench: str, redis_url: str
) -> dict[str, str]:
    import redis

    info = redis.Redis.from_url(redis_url).info("server")
    found = {
        "postgresql": (await conn.fetchval("SHOW server_version")),
        "redis": str(info["redis_version"]),
        "wrk": _version([wrk, "-v"]).split(" [")[0],
        "pgbench": _version([pgbench, "--version"]),
    }
    for package in ("movie-meetup", "fastapi", "starlette", "uvicorn", "uvloop", "httptools",
                    "sqlalchemy", "asyncpg", "pydantic", "arq"):  # fmt: skip
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


async def reset_bookings(conn: asyncpg.Connection, redis_url: str) -> None:
    """Between server starts: the same starting point (no bookings, no events, empty queue). The
    first start needs none: the database is new (and holds the booking-list dataset)."""
    import redis

    await conn.execute("TRUNCATE booking, domain_event CASCADE")
    await conn.execute("VACUUM ANALYZE")
    redis.Redis.from_url(redis_url).flushdb()


async def run(
    cfg: scenarios.Config, services: Any, wrk: str, workdir: Path, out: Path
) -> dict[str, Any]:
    from app.core.embedded import pg_bin

    started = time.monotonic()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    pg_url = services.postgres.url
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    base_env = {
        **os.environ,
        "ENV": "production",
        "DATABASE_URL": pg_url,
        "REDIS_URL": services.redis.url,
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "LOG_FORMAT": "json",
        "PUBLIC_BASE_URL": url,
    }
    base_env.pop("BOOKING_STRATEGY", None)  # one booking path: the app's own
    from app.core.migrations import upgrade

    print(f"bench: migrating {pg_url}", flush=True)
    await asyncio.to_thread(upgrade, pg_url)
    conn = await asyncpg.connect(dsn)
    results: dict[str, Any] = {
        "date": data.today(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": await versions(conn, wrk, str(pg_bin() / "pgbench"), services.redis.url),
        "config": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(cfg).items()},
        "scenarios": {},
    }
    print("bench: writing data", flush=True)
    t = time.monotonic()
    from app.core import security

    await data.create_users(
        conn,
        guests=cfg.guests,
        hosts=cfg.hosts,
        pw_hash=await security.hash_password(secrets.token_hex(8)),
    )
    tokens = workdir / "tokens.txt"
    data.mint_tokens(cfg.guests, tokens)
    token_files: dict[str, Path] = {}
    if cfg.wants("reads"):
        await data.create_read_dataset(conn, count=cfg.read_announcements, hosts=cfg.hosts)
        lists = await data.create_booking_lists(
            conn,
            start=datetime.now(UTC),
            pw_hash=await security.hash_password(secrets.token_hex(8)),
        )
        for who, token in (("host", lists.host_token), ("guest", lists.guest_token)):
            token_files[who] = workdir / f"{who}-token.txt"
            token_files[who].write_text(token + "\n")
        results["booking_lists"] = {
            "host_bookings": lists.host_bookings,
            "guest_bookings": lists.guest_bookings,
        }
    await conn.execute("VACUUM ANALYZE")
    results["data_seconds"] = round(time.monotonic() - t, 1)
    print(f"bench: data ready in {results['data_seconds']} s", flush=True)

    holder: dict[str, Service | None] = {"api": None, "worker": None}

    def pids(name: str) -> list[int]:
        service = holder[name]
        return service.pids() if service else []

    monitor = Monitor({
        "api": lambda: pids("api"),
        "worker": lambda: pids("worker"),
        "postgres": lambda: process_tree(services.postgres.process.pid if services.postgres.process else None),
    })  # fmt: skip
    monitor.start()
    loader = Loader(wrk, str(pg_bin() / "pgbench"), url, cfg.loadgen_cpu, monitor)
    memory: dict[str, Any] = {}

    def start_server(workers: int) -> Service:
        command = [str(VENV_BIN / "meetup"), "serve", "--workers", str(workers), "--no-access-log"]
        service = Service("api", command, base_env, workdir / "api.log")
        service.start()
        wait_http(url + "/health")
        holder["api"] = service
        b.server = service
        monitor.reset_peaks()
        print(f"bench: api up ({workers} worker(s))", flush=True)
        return service

    def stop_server(label: str) -> None:
        monitor.sample()
        stats = monitor.stats["api"]
        memory[label] = {
            "peak_rss_mb": round(stats.peak_rss / 2**20, 1),
            "processes": stats.peak_processes,
        }
        if holder["api"]:
            holder["api"].stop()
        holder["api"] = None

    b = scenarios.Bench(
        cfg, conn, loader, tokens, data.Announcements(datetime.now(UTC)),
        {"host": "127.0.0.1", "port": str(services.postgres.port), "user": "postgres",
         "database": data_database(dsn)},
        services.postgres.data_dir / "postgres.log", workdir, results, start_server, out,
        token_files=token_files,
    )  # fmt: skip
    phases: dict[str, float] = results.setdefault("phase_seconds", {})

    async def phase(name: str, work: Awaitable[Any]) -> Any:
        t = time.monotonic()
        print(f"bench: {name}", flush=True)
        try:
            return await work
        finally:
            phases[name] = round(time.monotonic() - t, 1)

    try:
        start_server(cfg.workers)
        for name, work in (("health", scenarios.health), ("booking", scenarios.bookings),
                           ("contention", scenarios.contention), ("burst", scenarios.burst),
                           ("reads", scenarios.reads)):  # fmt: skip
            if cfg.wants(name):
                await phase(name, work(b))
        if cfg.wants("console"):
            redis_pid = services.redis.process.pid if services.redis.process else None
            results["scenarios"]["console"] = await phase(
                "console", console.run(b, services.redis.url, redis_pid)
            )
        stop_server(f"api, {cfg.workers} worker(s)")
        if cfg.wants("workers"):  # the other worker count
            other = 1 if cfg.workers > 1 else 2
            await reset_bookings(conn, services.redis.url)
            start_server(other)
            results["scenarios"]["workers"] = {
                str(other): await phase("workers", scenarios.workers_comparison(b))
            }
            stop_server(f"api, {other} worker(s)")
        if cfg.wants("fanout"):
            await reset_bookings(conn, services.redis.url)
            results["scenarios"]["fanout"] = await phase(
                "fanout", fanout.run(b, base_env, holder, monitor, memory)
            )
    except Exception:  # keep what was measured, and say what broke
        results["error"] = traceback.format_exc()
        print(results["error"], file=sys.stderr, flush=True)
    finally:
        for service in holder.values():
            if service:
                service.stop()
        monitor.stop()
        await conn.close()
    results["scenarios"]["memory"] = memory
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["duration_s"] = round(time.monotonic() - started, 1)
    return results


def data_database(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def _free_port() -> int:
    from app.core.embedded import free_port

    return free_port()


def main() -> None:
    started = time.monotonic()
    cfg = config()
    wrk = ensure_wrk()
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    os.environ.update(ENV="production", LOG_LEVEL="WARNING")
    from app.core.embedded import EmbeddedServices, free_port

    workdir = Path(tempfile.mkdtemp(prefix="meetup-bench-"))
    services = EmbeddedServices(
        data_dir=workdir / "data", postgres_port=free_port(), redis_port=free_port()
    )
    print(f"bench: starting PostgreSQL and Redis in {workdir}", flush=True)
    services.start()
    os.environ.update(DATABASE_URL=services.postgres.url, REDIS_URL=services.redis.url)
    out = Path(os.environ.get("BENCH_RESULTS", RESULTS))
    out.mkdir(parents=True, exist_ok=True)
    try:
        results = asyncio.run(run(cfg, services, wrk, workdir, out))
    finally:
        services.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"bench: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    path, previous = report.write(results, out)
    print(report.table(results, previous))
    print(report.targets_table(results, previous))
    print(f"bench: {path} written in {results['total_seconds']} s", flush=True)
    if "error" in results:
        sys.exit("bench: a scenario failed (see above and the JSON's `error`)")


if __name__ == "__main__":
    sys.exit(main())
