"""The scenarios of issues 9 and 12, each recorded next to its baseline from the same run."""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import data, profile
from bench.capture import Capture, Statement, plain_sql, read_log
from bench.capture import profile as sql_profile
from bench.infra import Service
from bench.load import Loader

SEARCH_PATHS = [
    "/api/v1/announcements?q=stalker&has_seats=true",
    "/api/v1/announcements?q=solaris&has_seats=true",
    "/api/v1/announcements?q=samurai&has_seats=true",
    "/api/v1/announcements?q=rashomon&has_seats=true",
]
LIST_PATHS = ["/api/v1/announcements"]
HOME_PATHS = ["/"]  # the web front end's home page: the same list, rendered as HTML
HOST_LIST_PATHS = ["/api/v1/bookings?role=host"]
GUEST_LIST_PATHS = ["/api/v1/bookings"]
# The reads: name -> (paths, who asks: None = anonymous, else a key of Bench.token_files).
READS: dict[str, tuple[list[str], str | None]] = {
    "list": (LIST_PATHS, None),
    "home": (HOME_PATHS, None),
    "search": (SEARCH_PATHS, None),
    "host_bookings": (HOST_LIST_PATHS, "host"),
    "guest_bookings": (GUEST_LIST_PATHS, "guest"),
}
# The booking scenarios: name -> (which announcement request k books, with an Idempotency-Key?).
BOOKINGS: dict[str, tuple[str, bool]] = {
    "hot": ("hot", False),
    "spread": ("spread", False),
    "hot_keyed": ("hot", True),
}
BOOKING_LABELS = {
    "hot": "hot booking",
    "spread": "spread booking",
    "hot_keyed": "hot booking with Idempotency-Key",
}
# Answers of the keyed burst that the API contract allows.
CONTRACT_ANSWERS = {"201", "201 replayed", "409 already_booked", "409 time_conflict",
                    "409 idempotency_in_progress"}  # fmt: skip


@dataclass
class Config:
    workers: int
    duration: float
    warmup: float
    connections: list[int]
    guests: int
    hosts: int
    read_announcements: int
    fanout: int
    rate_fraction: float
    loadgen_cpu: int | None
    only: set[str] | None
    burst: int = 64

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
    start_server: Callable[[int], Service]
    results_dir: Path
    server: Service | None = None
    pgbench_runs: int = 0
    scripts: dict[str, Path] = field(default_factory=dict)
    token_files: dict[str, Path] = field(default_factory=dict)

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

    def token(self, guest: int) -> str:
        """Guest n's access token (line n of the tokens file)."""
        with self.tokens.open() as handle:
            for n, line in enumerate(handle, start=1):
                if n == guest:
                    return line.strip()
        raise IndexError(f"no token for guest {guest}")

    def say(self, label: str, result: dict[str, Any]) -> None:
        latency = result.get("latency_ms", {})
        cpu = result.get("cpu_ms_per_request", {})
        print(
            f"  {label:<44} {result['throughput']:>9.1f}/s  p50 {latency.get('p50', 0):>7.2f} ms"
            f"  p99 {latency.get('p99', 0):>8.2f} ms  errors {result['errors']}"
            f"  cpu/req api {cpu.get('api', 0):.2f} pg {cpu.get('postgres', 0):.2f} ms"
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


# --- the SQL of one request ------------------------------------------------------------------------


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


async def logged(b: Bench, sends: list[Callable[[], Awaitable[None]]]) -> list[list[Statement]]:
    """Each request alone with log_statement=all: the statements PostgreSQL ran for it (every
    session but ours, while nothing else runs)."""
    await wait_idle(b.conn)  # requests of a finished run may still be running on the server
    await b.conn.execute("ALTER SYSTEM SET log_statement = 'all'")
    await b.conn.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.2)  # every backend has read the new setting before the first request
    ours = b.conn.get_server_pid()
    captures = []
    try:
        for send in sends:
            offset = b.pg_log.stat().st_size
            await send()
            await wait_idle(b.conn)
            captures.append([s for s in read_log(b.pg_log, offset) if s.pid != ours])
    finally:
        await b.conn.execute("ALTER SYSTEM RESET log_statement")
        await b.conn.execute("SELECT pg_reload_conf()")
    return captures


def send(request: urllib.request.Request) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return send(urllib.request.Request(url, headers=headers))


# --- 2-5. bookings and their database limit ---------------------------------------------------------


def _booking_args(b: Bench, name: str, block: data.Block) -> list[str]:
    mode, keyed = BOOKINGS[name]
    per = block.capacity if mode == "hot" else block.count
    args = [str(b.tokens), mode, str(block.first), str(per)]
    if keyed:  # a new prefix per run: guests, and so user + key pairs, are reused across runs
        args += ["1", f"run{secrets.token_hex(4)}"]
    return args


async def _new_block(b: Bench, mode: str) -> data.Block:
    if mode == "hot":  # 1000 seats each, used one after the other: one hot row at a time
        return await b.block(math.ceil(b.cfg.guests / 1000), 1000)
    return await b.block(1000, 1000)


async def capture_booking_sql(b: Bench, keyed: bool) -> None:
    """Bookings with log_statement=all -> statements per booking, and the pgbench scripts. Three
    bookings one after the other, and the shortest one is kept: a request that lands on a new pool
    connection also logs the driver's one-off set-up and type introspection, which are not the
    booking's."""
    name = "booking_keyed" if keyed else "booking"
    block = await b.block(1, 10)
    path = (
        f"{b.loader.url}/api/v1/announcements/{data.uid(data.ANNOUNCEMENT, block.first)}/bookings"
    )
    keys = {guest: f"capture-{secrets.token_hex(4)}-{guest}" if keyed else None
            for guest in (1, 2, 3)}  # fmt: skip

    def booking(guest: int) -> Callable[[], Awaitable[None]]:
        headers = {"Authorization": f"Bearer {b.token(guest)}", "Content-Type": "application/json"}
        if keys[guest]:
            headers["Idempotency-Key"] = str(keys[guest])

        async def send() -> None:
            request = urllib.request.Request(
                path, data=b'{"seats": 1}', headers=headers, method="POST"
            )
            status, body = await asyncio.to_thread(send, request)
            assert status == 201, f"the captured booking answered {status}: {body[:300]}"

        return send

    captures = [
        Capture(statements, guest=guest, announcement=block.first, idempotency_key=keys[guest])
        for guest, statements in zip(
            keys, await logged(b, [booking(guest) for guest in keys]), strict=True
        )
    ]
    capture = min(captures, key=lambda c: len(c.statements))
    found = sql_profile(capture.statements)
    found["captured_from"] = "the shortest of three bookings, each alone, log_statement = all"
    for mode in ("hot",) if keyed else ("hot", "spread"):
        scenario = f"{mode}_keyed" if keyed else mode
        script = b.results_dir / f"booking-{scenario.replace('_', '-')}.pgbench.sql"
        text, notes = await capture.pgbench_script(b.conn, mode)
        script.write_text(text)
        b.scripts[scenario] = script
        found["notes"] = notes
        found.setdefault("scripts", []).append(script.name)
    b.section("sql")[name] = found
    print(
        f"  {name}: {found['count']} statements ({found['transactions']} transaction(s), "
        f"{found['pre_ping_pairs']} pre-ping): {' '.join(found['verbs'])}",
        flush=True,
    )
    for note in found["notes"]:
        print(f"    note: {note}", flush=True)


async def pgbench(b: Bench, name: str, clients: int) -> dict[str, Any]:
    """The captured SQL in pgbench; then a check that its transactions did book (a replay that
    ran but booked nothing, e.g. every verdict a 409, would be a flattering baseline)."""
    script = b.scripts[name]
    mode, _ = BOOKINGS[name]
    blocks: list[data.Block] = []

    async def variables() -> dict[str, int]:
        block = await _new_block(b, mode)
        blocks.append(block)
        b.pgbench_runs += 1
        per = 1000 if mode == "hot" else block.count
        return {"k": 0, "clients": clients, "first": block.first, "per": per, "run": b.pgbench_runs}

    warm = b.loader.pgbench_run(b.pg_dsn, script, clients, await variables(), seconds=b.cfg.warmup)
    if warm["errors"]:
        raise RuntimeError(f"pgbench warm-up failed: {warm['first_error']}")
    per_client = min(
        b.cfg.guests // clients, max(20, int(warm["throughput"] * b.cfg.duration / clients))
    )
    result = b.loader.pgbench_run(
        b.pg_dsn, script, clients, await variables(), transactions=per_client
    )
    block = blocks[-1]
    booked = await b.conn.fetchval(
        "SELECT count(*) FROM booking WHERE status = 'approved' AND announcement_id = ANY($1::uuid[])",
        [data.uid(data.ANNOUNCEMENT, block.first + i) for i in range(block.count)],
    )
    result["bookings_made"] = booked
    if booked < result["requests"]:
        result["warning"] = (
            f"{result['requests']} transactions booked only {booked} seats: the replayed SQL does "
            "less than the app's (see the script)"
        )
        print(f"  pgbench {name}: WARNING {result['warning']}", flush=True)
    return result


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


async def bookings(b: Bench) -> None:
    """Each booking scenario: pgbench with the booking's own SQL, then the same through HTTP at
    each concurrency and at a fixed rate."""
    warm_block = await _new_block(b, "hot")
    b.loader.wrk_run(
        "booking.lua", _booking_args(b, "hot", warm_block), b.base, b.cfg.warmup, {201}
    )
    for old in b.results_dir.glob("booking-*.pgbench.sql"):  # the last run's scripts only
        old.unlink()
    for keyed in (False, True):
        try:
            await capture_booking_sql(b, keyed)
        except Exception as exc:  # the HTTP runs still tell; the ratio to pgbench is missing
            name = "booking_keyed" if keyed else "booking"
            b.section("sql")[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"  {name}: the SQL capture failed: {exc}", flush=True)
    if "commit_floor_1_client" not in b.section("pgbench"):
        await commit_floor(b)
    health = b.section("health")
    for name, (mode, keyed) in BOOKINGS.items():
        label = BOOKING_LABELS[name]
        database = b.section("pgbench", name)
        http = b.section("booking", name)
        sql = b.section("sql", "booking_keyed" if keyed else "booking")
        for c in b.cfg.connections if name in b.scripts else []:
            try:
                database[str(c)] = await pgbench(b, name, c)
            except RuntimeError as exc:
                database["error"] = str(exc)[-2000:]
                print(f"  pgbench {name}: failed: {str(exc)[-500:]}", flush=True)
                break
            database[str(c)]["statements_per_request"] = sql.get("count")
            b.say(f"pgbench {name}, {c} clients", database[str(c)])
        for c in b.cfg.connections:
            result = b.loader.wrk_run(
                "booking.lua", _booking_args(b, name, await _new_block(b, mode)), c,
                b.cfg.duration, {201},
            )  # fmt: skip
            if str(c) in database:
                result["vs_pgbench"] = ratio(result["throughput"], database[str(c)]["throughput"])
            if str(c) in health:
                result["vs_health"] = ratio(result["throughput"], health[str(c)]["throughput"])
            result["statements_per_request"] = sql.get("count")
            http[str(c)] = result
            b.say(f"{label}, {c} connections", result)
        if name == "hot":
            args = _booking_args(b, name, await _new_block(b, mode))
            await profiled_run(b, f"hot booking, {b.base} conn.", "booking.lua", args, {201})
        rate = round(b.cfg.rate_fraction * http[str(b.base)]["throughput"])
        http["fixed_rate"] = b.loader.open_loop(
            rate, b.cfg.duration, "booking", _booking_args(b, name, await _new_block(b, mode)),
            {201},
        )  # fmt: skip
        http["fixed_rate"]["statements_per_request"] = sql.get("count")
        b.say(f"{label} at {rate}/s (open loop)", http["fixed_rate"])


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


async def contention(b: Bench, connections: int = 64, seats: int = 100) -> None:
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
    b.results["scenarios"]["contention"] = result
    verdict = "exactly 100 approved, no overbooking" if result["correct"] else "WRONG"
    print(f"  contention: {statuses} -> database {dict(row)}: {verdict}", flush=True)


# --- 9. keyed requests of one user, all at once -----------------------------------------------------


async def burst(b: Bench) -> None:
    """N simultaneous keyed booking requests from ONE user (N = BENCH_BURST, 64), three ways: the
    same key N times on one meetup (one booking, the rest replays or "in progress"), N keys on N
    meetups at different times (N bookings), N keys on one meetup (one booking, N-1 already_booked).
    Every answer must be a 201 or a contract 4xx, never a 5xx, and other requests must not stall:
    a probe times `GET /health` and a list page meanwhile."""
    n = b.cfg.burst
    out = b.section("burst")
    variants = (
        ("same_key", 1, 1),  # (name, announcements, bookings expected)
        ("distinct_announcements", n, n),
        ("same_announcement", 1, 1),
    )
    for index, (name, count, expected) in enumerate(variants):
        guest = b.cfg.guests - index  # a user of its own per variant
        token = b.token(guest)
        block = await b.block(count, 10)
        prefix = f"burst{secrets.token_hex(4)}"
        requests = []
        for k in range(n):
            number = block.first + (k % count)
            requests.append({
                "method": "POST",
                "path": f"/api/v1/announcements/{data.uid(data.ANNOUNCEMENT, number)}/bookings",
                "headers": {"Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                            "Idempotency-Key": prefix if name == "same_key" else f"{prefix}-{k}"},
                "body": '{"seats": 1}',
            })  # fmt: skip
        spec = b.workdir / f"burst-{name}.json"
        spec.write_text(json.dumps({"requests": requests, "probes": ["/health", LIST_PATHS[0]]}))
        await wait_idle(b.conn)
        result = b.loader.burst(spec)
        made = await b.conn.fetchval(
            "SELECT count(*) FROM booking WHERE guest_id = $1 AND announcement_id = ANY($2::uuid[])",
            data.uid(data.USER, guest),
            [data.uid(data.ANNOUNCEMENT, block.first + i) for i in range(count)],
        )
        unexpected = {k: v for k, v in result["answers"].items() if k not in CONTRACT_ANSWERS}
        result.update(
            variant=name,
            announcements=count,
            bookings_expected=expected,
            bookings_in_database=made,
            unexpected_answers=unexpected,
            correct=(
                not unexpected
                and made == expected
                and len(result["created_ids"]) == expected
                and result["server_errors"] == 0
            ),
        )
        result["created_ids"] = len(result["created_ids"])
        out[name] = result
        probes = "; ".join(
            f"{path} max {p['during_ms'].get('max', '-')} ms (idle {p['idle_ms'].get('max', '-')})"
            for path, p in result["probes"].items()
        )
        print(
            f"  burst {name}: {result['answers']} in {result['latency_ms'].get('max')} ms; "
            f"bookings {made}/{expected}; {probes}; {'ok' if result['correct'] else 'WRONG'}",
            flush=True,
        )


# --- 6. reads ---------------------------------------------------------------------------------------


def served(url: str, token: str | None = None) -> str | None:
    """None if the route answers a page, else why not."""
    try:
        status, text = _get(url, token)
        if status == 200 and text.lstrip().lower().startswith("<!doctype html"):
            return None  # a web page (the home page renders the same list as HTML)
        body = json.loads(text)
    except (OSError, ValueError) as exc:
        return f"GET {url} failed: {exc}"
    if status != 200:
        return f"GET {url} answered {status}: {text[:100]}"
    if not isinstance(body, dict) or "items" not in body:
        return f"GET {url} did not answer a page ({str(body)[:100]})"
    return None


_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.I)


async def explain(
    b: Bench, path: str, token: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The SQL one GET issues (log_statement=all): its statement profile, and each SELECT run again
    under EXPLAIN ANALYZE (in a transaction rolled back): the slowest first, with its plan."""

    async def send() -> None:
        await asyncio.to_thread(_get, b.loader.url + path, token)

    # The second lands on a warm connection, without set-up queries.
    captured = min(await logged(b, [send, send]), key=len)
    plans = []
    for statement in captured:
        if not statement.sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        if _WRITES.search(statement.sql):
            continue
        transaction = b.conn.transaction()
        await transaction.start()
        try:
            rows = await b.conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {plain_sql(statement)}")
        finally:
            await transaction.rollback()
        plan = [row[0] for row in rows]
        took = next((line for line in plan if line.startswith("Execution Time")), "")
        plans.append({
            "execution_ms": float(took.split(":")[1].split()[0]) if took else None,
            "sql": " ".join(statement.sql.split())[:400],
            "plan": plan,
        })  # fmt: skip
    return sorted(plans, key=lambda p: -(p["execution_ms"] or 0)), sql_profile(captured)


async def reads(b: Bench) -> None:
    """The announcement list and search over BENCH_READ_ANNOUNCEMENTS, and the booking lists of a
    host (LIST_MEETUPS x LIST_GUESTS bookings) and of a guest (LIST_MEETUPS bookings)."""
    out = b.section("reads")
    health = b.section("health")
    for name, (paths, who) in READS.items():
        node = out.setdefault(name, {"paths": paths})
        token_file = b.token_files.get(who) if who else None
        token = token_file.read_text().strip() if token_file else None
        if who and token is None:
            node.update(status="pending", reason=f"no {who} token (the list dataset is missing)")
            continue
        reason = served(b.loader.url + paths[0], token)
        if reason:
            node.update(status="pending", reason=reason)
            print(f"  reads {name}: pending ({reason})", flush=True)
            continue
        args = [*paths, *([f"A:{token_file}"] if token_file else [])]
        node["explain"], node["sql"] = await explain(b, paths[0], token)
        count = node["sql"]["count"]
        b.loader.wrk_run("get.lua", args, b.base, b.cfg.warmup, {200})
        for c in b.cfg.connections:
            result = b.loader.wrk_run("get.lua", args, c, b.cfg.duration, {200})
            if str(c) in health:
                result["vs_health"] = ratio(result["throughput"], health[str(c)]["throughput"])
            result["statements_per_request"] = count
            node[str(c)] = result
            b.say(f"GET {name}, {c} connections", result)
        if name in ("list", "home", "search"):
            await profiled_run(b, f"GET {name}, {b.base} conn.", "get.lua", args, {200})
        rate = round(b.cfg.rate_fraction * node[str(b.base)]["throughput"])
        node["fixed_rate"] = b.loader.open_loop(rate, b.cfg.duration, "get", args, {200})
        node["fixed_rate"]["statements_per_request"] = count
        b.say(f"GET {name} at {rate}/s (open loop)", node["fixed_rate"])


# --- uvicorn workers: the other count, on the same scenarios ------------------------------------------


async def workers_comparison(b: Bench) -> dict[str, Any]:
    c = b.base
    out: dict[str, Any] = {
        "health": b.loader.wrk_run("get.lua", ["/health"], c, b.cfg.duration, {200})
    }
    for name in ("hot", "spread"):
        if name == "hot":
            warm = await _new_block(b, "hot")
            b.loader.wrk_run("booking.lua", _booking_args(b, "hot", warm), c, b.cfg.warmup, {201})
        out[f"booking_{name}"] = b.loader.wrk_run(
            "booking.lua", _booking_args(b, name, await _new_block(b, name)), c,
            b.cfg.duration, {201},
        )  # fmt: skip
    if served(b.loader.url + LIST_PATHS[0]) is None:
        out["list"] = b.loader.wrk_run("get.lua", LIST_PATHS, c, b.cfg.duration, {200})
    for name, result in out.items():
        b.say(f"{name}, {c} connections", result)
    return out
