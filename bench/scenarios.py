"""The scenarios of issue 9, each recorded next to its baseline from the same run."""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import data, profile
from bench.capture import Capture, plain_sql, read_log
from bench.infra import Service
from bench.load import Loader

SEARCH_PATHS = [
    "/api/v1/announcements?q=stalker&has_seats=true",
    "/api/v1/announcements?q=solaris&has_seats=true",
    "/api/v1/announcements?q=samurai&has_seats=true",
    "/api/v1/announcements?q=rashomon&has_seats=true",
]
LIST_PATHS = ["/api/v1/announcements"]


@dataclass
class Config:
    workers: int
    duration: float
    warmup: float
    connections: list[int]
    strategies: list[str]
    guests: int
    hosts: int
    read_announcements: int
    fanout: int
    rate_fraction: float
    loadgen_cpu: int | None
    only: set[str] | None

    def wants(self, scenario: str) -> bool:
        return self.only is None or scenario in self.only


@dataclass
class Bench:
    cfg: Config
    conn: asyncpg.Connection
    loader: Loader
    tokens: Path
    announcements: data.Announcements
    pg_dsn: dict[str, str]
    pg_log: Path
    workdir: Path
    results: dict[str, Any]
    start_server: Any  # (strategy, workers) -> Service
    results_dir: Path
    server: Service | None = None
    pgbench_runs: int = 0
    scripts: dict[str, Path] = field(default_factory=dict)

    @property
    def base(self) -> int:
        return self.cfg.connections[0]

    def section(self, *keys: str) -> dict[str, Any]:
        node = self.results["scenarios"]
        for key in keys:
            node = node.setdefault(key, {})
        return node

    async def block(self, count: int, capacity: int) -> data.Block:
        return await self.announcements.block(self.conn, count, capacity)

    def say(self, label: str, result: dict[str, Any]) -> None:
        latency = result.get("latency_ms", {})
        print(
            f"  {label:<38} {result['throughput']:>9.1f}/s  p50 {latency.get('p50', 0):>7.2f} ms"
            f"  p99 {latency.get('p99', 0):>8.2f} ms  errors {result['errors']}"
            f"  (others' CPU {result.get('others_cpu_pct', 0):.0f}%)",
            flush=True,
        )


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


# --- 1. the ceiling -------------------------------------------------------------------------------


async def health(b: Bench) -> None:
    out = b.section("health")
    for c in b.cfg.connections:
        out[str(c)] = b.loader.wrk_run("get.lua", ["/health"], c, b.cfg.duration, {200})
        b.say(f"GET /health, {c} connections", out[str(c)])
    rate = round(b.cfg.rate_fraction * out[str(b.base)]["throughput"])
    out["fixed_rate"] = b.loader.open_loop(rate, b.cfg.duration, "get", ["/health"], {200})
    b.say(f"GET /health at {rate}/s (open loop)", out["fixed_rate"])


# --- 2-5. bookings and their database limit ---------------------------------------------------------


def _booking_args(b: Bench, mode: str, block: data.Block) -> list[str]:
    per = block.capacity if mode == "hot" else block.count
    return [str(b.tokens), mode, str(block.first), str(per)]


async def _new_block(b: Bench, mode: str) -> data.Block:
    if mode == "hot":  # 1000 seats each, used one after the other: one hot row at a time
        return await b.block(math.ceil(b.cfg.guests / 1000), 1000)
    return await b.block(1000, 1000)


async def wait_idle(conn: asyncpg.Connection, seconds: float = 30) -> None:
    """Until no other session of the database is inside a query or a transaction."""
    for _ in range(int(seconds / 0.1)):
        busy = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        if not busy:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the database did not become idle")


def _send(request: urllib.request.Request) -> int:
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


async def capture_booking_sql(b: Bench, strategy: str) -> None:
    """Bookings with log_statement=all -> the pgbench scripts (hot and spread). Three bookings one
    after the other, and the shortest one is kept: a request that lands on a new pool connection
    also logs the driver's one-off set-up and type introspection, which are not the booking's."""
    block = await b.block(1, 10)
    await wait_idle(b.conn)  # requests of a finished wrk run may still be running on the server
    await b.conn.execute("ALTER SYSTEM SET log_statement = 'all'")
    await b.conn.execute("SELECT pg_reload_conf()")
    tokens = b.tokens.open().read().split("\n", 3)[:3]
    ours = b.conn.get_server_pid()
    captures = []
    for guest, token in enumerate(tokens, start=1):
        offset = b.pg_log.stat().st_size
        request = urllib.request.Request(
            f"{b.loader.url}/api/v1/announcements/"
            f"{data.uid(data.ANNOUNCEMENT, block.first)}/bookings",
            data=b'{"seats": 1}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        status = await asyncio.to_thread(_send, request)
        assert status == 201, f"the captured booking answered {status}"
        await wait_idle(b.conn)
        statements = [s for s in read_log(b.pg_log, offset) if s.pid != ours]
        captures.append(Capture(statements, guest=guest, announcement=block.first))
    await b.conn.execute("ALTER SYSTEM RESET log_statement")
    await b.conn.execute("SELECT pg_reload_conf()")
    capture = min(captures, key=lambda c: len(c.statements))
    for mode in ("hot", "spread"):
        script = b.results_dir / f"booking-{strategy}-{mode}.pgbench.sql"
        script.write_text(await capture.pgbench_script(b.conn, mode))
        b.scripts[f"{strategy}/{mode}"] = script
    b.section("pgbench", strategy)["statements_per_booking"] = len(capture.statements)


async def pgbench(b: Bench, strategy: str, mode: str, clients: int) -> dict[str, Any]:
    script = b.scripts[f"{strategy}/{mode}"]

    async def variables() -> dict[str, int]:
        block = await _new_block(b, mode)
        b.pgbench_runs += 1
        per = 1000 if mode == "hot" else block.count
        return {"k": 0, "clients": clients, "first": block.first, "per": per, "run": b.pgbench_runs}

    warm = b.loader.pgbench_run(b.pg_dsn, script, clients, await variables(), seconds=b.cfg.warmup)
    if warm["errors"]:
        raise RuntimeError(f"pgbench warm-up failed: {warm['first_error']}")
    per_client = min(
        b.cfg.guests // clients, max(20, int(warm["throughput"] * b.cfg.duration / clients))
    )
    return b.loader.pgbench_run(
        b.pg_dsn, script, clients, await variables(), transactions=per_client
    )


async def commit_floor(b: Bench) -> None:
    """What one durable commit costs on this disk: pgbench, 1 client, a one-row UPDATE per
    transaction. A hot row's bookings cannot go faster than its lock is released, at commit."""
    await b.conn.execute("CREATE TABLE IF NOT EXISTS bench_commit (x int); TRUNCATE bench_commit")
    await b.conn.execute("INSERT INTO bench_commit VALUES (0)")
    script = b.workdir / "commit.pgbench.sql"
    script.write_text("UPDATE bench_commit SET x = x + 1;\n")
    result = b.loader.pgbench_run(b.pg_dsn, script, 1, {}, seconds=max(2, b.cfg.warmup))
    b.section("pgbench")["commit_floor_1_client"] = result
    b.say("pgbench one-row commit, 1 client", result)


async def bookings(b: Bench, strategy: str, rate_source: dict[str, float]) -> None:
    """pgbench with the booking's SQL, then the same through HTTP, hot and spread."""
    warm_block = await _new_block(b, "hot")
    b.loader.wrk_run(
        "booking.lua", _booking_args(b, "hot", warm_block), b.base, b.cfg.warmup, {201}
    )
    await capture_booking_sql(b, strategy)
    if "commit_floor_1_client" not in b.section("pgbench"):
        await commit_floor(b)
    health = b.section("health")
    for mode in ("hot", "spread"):
        database = b.section("pgbench", strategy, mode)
        http = b.section("booking", strategy, mode)
        for c in b.cfg.connections:
            database[str(c)] = await pgbench(b, strategy, mode, c)
            b.say(f"pgbench {strategy} {mode}, {c} clients", database[str(c)])
        for c in b.cfg.connections:
            result = b.loader.wrk_run(
                "booking.lua", _booking_args(b, mode, await _new_block(b, mode)), c,
                b.cfg.duration, {201},
            )  # fmt: skip
            result["vs_pgbench"] = ratio(result["throughput"], database[str(c)]["throughput"])
            if str(c) in health:
                result["vs_health"] = ratio(result["throughput"], health[str(c)]["throughput"])
            http[str(c)] = result
            b.say(f"booking {strategy} {mode}, {c} connections", result)
        if mode == "hot" and strategy == b.cfg.strategies[0]:
            args = _booking_args(b, mode, await _new_block(b, mode))
            label = f"hot booking ({strategy}), {b.base} conn."
            await profiled_run(b, label, "booking.lua", args, {201})
        # The same fixed rate for both strategies: a share of the first strategy's saturation.
        rate = rate_source.setdefault(
            mode, round(b.cfg.rate_fraction * http[str(b.base)]["throughput"])
        )
        http["fixed_rate"] = b.loader.open_loop(
            rate, b.cfg.duration, "booking", _booking_args(b, mode, await _new_block(b, mode)),
            {201},
        )  # fmt: skip
        b.say(f"booking {strategy} {mode} at {rate}/s (open loop)", http["fixed_rate"])


async def profiled_run(
    b: Bench, label: str, script: str, args: list[str], expected: set[int]
) -> None:
    """One more run, not counted, with py-spy sampling the busiest API process."""
    assert b.server is not None
    processes = [psutil.Process(pid) for pid in b.server.pids()]
    busiest = max(processes, key=lambda p: sum(p.cpu_times()[:2]))
    raw = b.workdir / "profile.raw"
    raw.unlink(missing_ok=True)
    spy = profile.start(busiest.pid, b.cfg.duration, raw)
    profiles = b.results.setdefault("profiles", {})
    if spy is None:
        profiles[label] = {"status": "skipped: py-spy is not installed (pip install py-spy)"}
        return
    b.loader.wrk_run(script, args, b.base, b.cfg.duration, expected)
    spy.wait(timeout=60)
    profiles[label] = profile.summarize(raw) if raw.exists() else {"samples": 0}
    top = list(profiles[label].get("self_time_by_package_pct", {}).items())[:4]
    print(f"  profile of the API during {label}: {top}", flush=True)


async def contention(b: Bench, strategy: str, connections: int = 64, seats: int = 100) -> None:
    """Capacity 100, many more guests at once: exactly 100 approved, every other answer a 409."""
    block = await b.block(1, seats)
    result = b.loader.wrk_run(
        "booking.lua", [str(b.tokens), "one", str(block.first), "1"], connections, 5, {201, 409}
    )
    announcement = data.uid(data.ANNOUNCEMENT, block.first)
    row = await b.conn.fetchrow(
        """SELECT a.approved_seats,
                  (SELECT count(*) FROM booking WHERE announcement_id = a.id
                     AND status = 'approved') AS approved_bookings,
                  (SELECT count(*) FROM booking WHERE announcement_id = a.id) AS bookings
           FROM announcement a WHERE a.id = $1""",
        announcement,
    )
    statuses = result["statuses"]
    result["database"] = dict(row)
    result["correct"] = (
        row["approved_seats"] == seats
        and row["approved_bookings"] == seats
        and row["bookings"] == seats
        and statuses.get("201") == seats
        and statuses.get("409", 0) == result["requests"] - seats
        and result["errors"] == 0
    )
    b.section("contention")[strategy] = result
    verdict = "exactly 100 approved, no overbooking" if result["correct"] else "WRONG"
    print(f"  contention {strategy}: {statuses} -> database {dict(row)}: {verdict}", flush=True)


# --- 6. reads ---------------------------------------------------------------------------------------


def served(url: str) -> str | None:
    """None if the list route answers a page, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return f"GET {url} answered {exc.code}: the announcements list is not served yet"
    except OSError as exc:
        return f"GET {url} failed: {exc}"
    if not isinstance(body, dict) or "items" not in body:
        return f"GET {url} did not answer a page ({str(body)[:100]})"
    return None


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return int(response.status)


async def explain(b: Bench, path: str) -> list[dict[str, Any]]:
    """The SQL one GET issues (log_statement=all), each SELECT run again under EXPLAIN ANALYZE:
    the slowest first, with its plan."""
    await wait_idle(b.conn)
    await b.conn.execute("ALTER SYSTEM SET log_statement = 'all'")
    await b.conn.execute("SELECT pg_reload_conf()")
    ours = b.conn.get_server_pid()
    captures = []
    try:
        for _ in range(2):  # the second lands on a warm connection, without set-up queries
            offset = b.pg_log.stat().st_size
            await asyncio.to_thread(_get, b.loader.url + path)
            await wait_idle(b.conn)
            captures.append([s for s in read_log(b.pg_log, offset) if s.pid != ours])
    finally:
        await b.conn.execute("ALTER SYSTEM RESET log_statement")
        await b.conn.execute("SELECT pg_reload_conf()")
    plans = []
    for statement in min(captures, key=len):
        if not statement.sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        rows = await b.conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {plain_sql(statement)}")
        plan = [row[0] for row in rows]
        took = next((line for line in plan if line.startswith("Execution Time")), "")
        plans.append({
            "execution_ms": float(took.split(":")[1].split()[0]) if took else None,
            "sql": " ".join(statement.sql.split())[:400],
            "plan": plan,
        })  # fmt: skip
    return sorted(plans, key=lambda p: -(p["execution_ms"] or 0))


async def reads(b: Bench) -> None:
    out = b.section("reads")
    reason = served(b.loader.url + LIST_PATHS[0]) or served(b.loader.url + SEARCH_PATHS[0])
    if reason:
        out.update(status="pending", reason=reason)
        print(f"  reads: pending ({reason})", flush=True)
        return
    health = b.section("health")
    for name, paths in (("list", LIST_PATHS), ("search", SEARCH_PATHS)):
        node = out.setdefault(name, {"paths": paths})
        node["explain"] = await explain(b, paths[0])
        b.loader.wrk_run("get.lua", paths, b.base, b.cfg.warmup, {200})
        for c in b.cfg.connections:
            result = b.loader.wrk_run("get.lua", paths, c, b.cfg.duration, {200})
            if str(c) in health:
                result["vs_health"] = ratio(result["throughput"], health[str(c)]["throughput"])
            node[str(c)] = result
            b.say(f"GET {name}, {c} connections", result)
        await profiled_run(b, f"GET {name}, {b.base} conn.", "get.lua", paths, {200})
        rate = round(b.cfg.rate_fraction * node[str(b.base)]["throughput"])
        node["fixed_rate"] = b.loader.open_loop(rate, b.cfg.duration, "get", paths, {200})
        b.say(f"GET {name} at {rate}/s (open loop)", node["fixed_rate"])


# --- uvicorn workers: the other count, on the same scenarios ------------------------------------------


async def workers_comparison(b: Bench, strategy: str) -> dict[str, Any]:
    c = b.base
    out: dict[str, Any] = {
        "health": b.loader.wrk_run("get.lua", ["/health"], c, b.cfg.duration, {200})
    }
    for mode in ("hot", "spread"):
        if mode == "hot":
            warm = await _new_block(b, "hot")
            b.loader.wrk_run("booking.lua", _booking_args(b, "hot", warm), c, b.cfg.warmup, {201})
        out[f"booking_{mode}"] = b.loader.wrk_run(
            "booking.lua", _booking_args(b, mode, await _new_block(b, mode)), c,
            b.cfg.duration, {201},
        )  # fmt: skip
    if served(b.loader.url + LIST_PATHS[0]) is None:
        out["list"] = b.loader.wrk_run("get.lua", LIST_PATHS, c, b.cfg.duration, {200})
    for name, result in out.items():
        b.say(f"{name}, {c} connections", result)
    return out
