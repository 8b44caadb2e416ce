"""Results: bench/results/<date>.json, and the markdown tables spliced into bench/README.md, each
figure beside the previous run's (the newest earlier bench/results/<date>.json)."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
README = Path(__file__).resolve().parent / "README.md"
BOOKINGS = {
    "hot": "hot booking",
    "hot_keyed": "hot booking with `Idempotency-Key`",
    "spread": "spread booking",
}
READS = {
    "list": "default list (announcements)",
    "home": "the web home page (`GET /`, the same list as HTML)",
    "search": "text search + filter",
    "host_bookings": "a host's bookings (`?role=host`)",
    "guest_bookings": "a guest's bookings",
}
BURSTS = {
    "same_key": "one key, one meetup",
    "distinct_announcements": "a key each, as many meetups",
    "same_announcement": "a key each, one meetup",
}


# --- the previous run --------------------------------------------------------------------------------


def normalize(results: dict[str, Any]) -> dict[str, Any]:
    """A run in an older shape -> this one. Issue 9's runs compared booking strategies
    (`scenarios.booking.<strategy>...`); the app keeps one booking path, so the default strategy
    (the first, `lock`) is what compares with this run's figures."""
    r = copy.deepcopy(results)
    s = r.setdefault("scenarios", {})
    strategies = r.get("config", {}).get("strategies") or []
    if not strategies:
        return r
    first = strategies[0]
    if isinstance(s.get("booking", {}).get(first), dict):
        s["booking"] = s["booking"][first]
    pgbench = s.get("pgbench", {})
    if isinstance(pgbench.get(first), dict):
        chosen = pgbench[first]
        for strategy in strategies:
            pgbench.pop(strategy, None)
        count = chosen.pop("statements_per_booking", None)
        pgbench.update(chosen)
        if count is not None:
            s.setdefault("sql", {})["booking"] = {"count": count}
            for node in [*s.get("booking", {}).values(), *pgbench.values()]:
                for result in node.values() if isinstance(node, dict) else []:
                    if isinstance(result, dict) and "throughput" in result:
                        result.setdefault("statements_per_request", count)
    if isinstance(s.get("contention", {}).get(first), dict):
        s["contention"] = s["contention"][first]
    memory = s.get("memory", {})
    for label in list(memory):
        head, _, strategy = label.rpartition(", ")
        if strategy in strategies and head.startswith("api"):
            value = memory.pop(label)
            if strategy == first:
                memory[head] = value
    profiles = r.get("profiles", {})
    for label in list(profiles):
        plain = label.replace(f" ({first})", "")
        if plain != label:
            profiles[plain] = profiles.pop(label)
    r.pop("faster_strategy_this_run", None)
    return r


def previous_run(out: Path, date: str) -> dict[str, Any] | None:
    """The newest bench/results/<date>.json older than `date`, in this run's shape."""
    older = sorted(p for p in out.glob("????-??-??.json") if p.stem < date)
    if not older:
        return None
    try:
        found = json.loads(older[-1].read_text())
    except (OSError, ValueError):
        return None
    return normalize(found)


# --- formatting --------------------------------------------------------------------------------------


def _n(value: Any, digits: int = 0) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return f"{value:,.{digits}f}".replace(",", " ")


def _at(node: Any, *path: str) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _pair(now: Any, before: Any, digits: int = 0) -> str:
    """This run's figure, and the previous run's in parentheses when it had one."""
    text = _n(now, digits)
    if isinstance(before, int | float) and not isinstance(before, bool):
        text += f" ({_n(before, digits)})"
    return text


def _cpu(r: dict[str, Any] | None) -> str:
    cpu = (r or {}).get("cpu_ms_per_request") or {}
    if not cpu:
        return ""
    return f"{_n(cpu.get('api'), 2)} · {_n(cpu.get('postgres'), 2)}"


def _cpu_pair(r: dict[str, Any], p: dict[str, Any] | None) -> str:
    before = _cpu(p)
    return (_cpu(r) or "-") + (f" ({before})" if before else "")


def _ratio_note(r: dict[str, Any], p: dict[str, Any] | None) -> str:
    parts = []
    for key, label in (("vs_pgbench", "pgbench"), ("vs_health", "health")):
        value = r.get(key)
        if isinstance(value, int | float):
            before = (p or {}).get(key)
            parts.append(
                f"{value:.2f}x {label}"
                + (f" ({before:.2f}x)" if isinstance(before, int | float) else "")
            )
    return ", ".join(parts)


HEADER = [
    "| Scenario | Load | Throughput /s | p50 ms | p99 ms | Errors | CPU ms/req: API · PG "
    "| Statements/req | Ratio to baseline (same run) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|",
]


def _line(
    name: str,
    load: str,
    r: dict[str, Any],
    p: dict[str, Any] | None,
    note: str,
) -> str:
    lat, before = r.get("latency_ms", {}), (p or {}).get("latency_ms", {})
    return (
        f"| {name} | {load} | {_pair(r.get('throughput'), (p or {}).get('throughput'))} | "
        f"{_pair(lat.get('p50'), before.get('p50'), 1)} | "
        f"{_pair(lat.get('p99'), before.get('p99'), 1)} | {r.get('errors', 0)} | "
        f"{_cpu_pair(r, p)} | "
        f"{_pair(r.get('statements_per_request'), (p or {}).get('statements_per_request'))} | "
        f"{note} |"
    )


def _load(key: str, r: dict[str, Any], clients: bool = False) -> str:
    if key == "fixed_rate":
        return f"fixed {_n(r.get('rate'))}/s"
    return f"{key} {'clients' if clients else 'conn.'}"


def table(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    s = results["scenarios"]
    ps = (previous or {}).get("scenarios", {})
    conns = [str(c) for c in results["config"]["connections"]]
    lines = list(HEADER)

    def rows(
        name: str,
        path: tuple[str, ...],
        keys: list[str],
        note: Callable[[dict[str, Any], dict[str, Any] | None], str],
        clients: bool = False,
    ) -> None:
        node = _at(s, *path) or {}
        for key in keys:
            r = node.get(key)
            if isinstance(r, dict) and "throughput" in r:
                p = _at(ps, *path, key)
                lines.append(_line(name, _load(key, r, clients), r, p, note(r, p)))

    def fixed(r: dict[str, Any], p: dict[str, Any] | None) -> str:
        return "open loop"

    rows("1. `GET /health` (ceiling)", ("health",), conns, lambda r, p: "baseline")
    rows("1. `GET /health`", ("health",), ["fixed_rate"], fixed)
    floor = _at(s, "pgbench", "commit_floor_1_client")
    if floor:
        lines.append(_line("2. pgbench, one-row UPDATE per commit (disk floor)", "1 client", floor,
                           _at(ps, "pgbench", "commit_floor_1_client"), "fsync-bound"))  # fmt: skip
    for number, (name, label) in enumerate(BOOKINGS.items(), start=3):
        rows(f"2. pgbench, the SQL of a {label}", ("pgbench", name), conns,
             lambda r, p: "baseline" + (f"; ⚠️ {r['warning']}" if r.get("warning") else ""),
             clients=True)  # fmt: skip
        if _at(s, "pgbench", name, "error"):
            lines.append(f"| 2. pgbench, the SQL of a {label} | - | - | - | - | - | - | - | failed: "
                         f"{_cell(s['pgbench'][name]['error'])} |")  # fmt: skip
        rows(f"{number}. {label}", ("booking", name), conns, _ratio_note)
        rows(f"{number}. {label}", ("booking", name), ["fixed_rate"], fixed)
    contention = s.get("contention")
    if isinstance(contention, dict) and "throughput" in contention:
        db = contention.get("database", {})
        verdict = "✅ no overbooking" if contention.get("correct") else "❌ WRONG"
        statuses = contention["statuses"]
        note = (
            f"{statuses.get('201', 0)} x 201, {statuses.get('409', 0)} x 409; database: "
            f"{db.get('approved_seats')} seats, {db.get('bookings')} bookings — {verdict}"
        )
        lines.append(_line("6. contention, 100 seats", "64 conn.", contention,
                           ps.get("contention"), note))  # fmt: skip
    for name, label in BURSTS.items():
        r = _at(s, "burst", name)
        if isinstance(r, dict) and "throughput" in r:
            lines.append(_line(f"7. {r['requests']} keyed requests of one user at once: {label}",
                               "burst", r, _at(ps, "burst", name), burst_note(r)))  # fmt: skip
    for name, label in READS.items():
        node = _at(s, "reads", name) or {}
        if node.get("status") == "pending":
            lines.append(f"| 8. {label} | - | - | - | - | - | - | - | pending: {_cell(node['reason'])} |")  # fmt: skip
            continue
        rows(f"8. {label}", ("reads", name), conns,
             lambda r, p: _ratio_note(r, p))  # fmt: skip
        rows(f"8. {label}", ("reads", name), ["fixed_rate"], fixed)
    fan = s.get("fanout", {})
    if fan.get("status") == "pending":
        lines.append(
            f"| 9. fan-out | - | - | - | - | - | - | - | pending: {_cell(fan['reason'])} |"
        )
    elif fan:
        before = ps.get("fanout", {})

        def took(seconds: float | None) -> str:
            return (
                f"{seconds:.1f} s"
                if seconds is not None
                else f"not within {fan['timeout_s']:.0f} s"
            )

        lines.append(
            f"| 9. fan-out: {_n(fan['notifications'])} reminders due at once | worker | "
            f"{_pair(fan['notifications_per_s'], before.get('notifications_per_s'))} | - | - | "
            f"{fan.get('errors', 0)} | - | - | all in the inbox in {took(fan['seconds_to_inbox'])}; "
            f"{_n(fan['emails_received'])} emails at the SMTP sink in "
            f"{took(fan['seconds_to_smtp'])}: "
            f"**{_pair(fan.get('emails_per_s'), before.get('emails_per_s'))} emails/s** |"
        )
    for label, m in s.get("memory", {}).items():
        before = _at(ps, "memory", label, "peak_rss_mb")
        lines.append(
            f"| 10. peak RSS: {label} | - | - | - | - | - | - | - | "
            f"{_pair(m['peak_rss_mb'], before)} MiB in {m['processes']} process(es) |"
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")[:200]


def burst_note(r: dict[str, Any]) -> str:
    answers = ", ".join(f"{n} x {label}" for label, n in r.get("answers", {}).items())
    verdict = "✅" if r.get("correct") else "❌"
    probes = "; ".join(
        f"`{path}` max {_n(p['during_ms'].get('max'), 1)} ms (idle max "
        f"{_n(p['idle_ms'].get('max'), 1)})"
        for path, p in r.get("probes", {}).items()
    )
    return (
        f"{answers}; database: {r.get('bookings_in_database')} of "
        f"{r.get('bookings_expected')} booking(s) {verdict}; meanwhile {probes}"
    )


# --- issue 12's targets ----------------------------------------------------------------------------


def target_rows(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, this run's figure, met) for each target of issue 12 (2 cores)."""
    s = results.get("scenarios", {})
    base = str(results.get("config", {}).get("connections", [16])[0])
    rows: list[tuple[str, str, bool | None]] = []
    for name, label in (("hot", "hot booking"), ("hot_keyed", "hot booking with a key")):
        r = _at(s, "booking", name, base)
        api = _at(r, "cpu_ms_per_request", "api")
        if isinstance(api, int | float):
            rows.append((f"API CPU per booking ≤ 1.5 ms ({label}, {base} conn.)",
                         f"{api:.2f} ms (PostgreSQL {_n(_at(r, 'cpu_ms_per_request', 'postgres'), 2)} ms)",
                         api <= 1.5))  # fmt: skip
    for name, label in (("booking", "without a key"), ("booking_keyed", "with a key")):
        sql = _at(s, "sql", name) or {}
        if isinstance(sql.get("count"), int):
            detail = (
                f" ({sql['transactions']} transaction(s), {sql['pre_ping_pairs']} pre-ping)"
                if "transactions" in sql
                else ""
            )
            rows.append((f"≤ 6 statements per booking, BEGIN/COMMIT included ({label})",
                         f"{sql['count']}{detail}", sql["count"] <= 6))  # fmt: skip
        elif sql.get("error"):
            rows.append((f"≤ 6 statements per booking ({label})", "capture failed", None))
    for name, label in (("hot", "hot booking"), ("hot_keyed", "hot booking with a key")):
        r = _at(s, "booking", name, base)
        database = _at(s, "pgbench", name, base)
        if isinstance(r, dict) and isinstance(database, dict) and database.get("throughput"):
            share = r["throughput"] / database["throughput"]
            rows.append((f"{label} ≥ 0.5x pgbench running its own SQL ({base} conn.)",
                         f"{share:.2f}x ({_n(r['throughput'])} vs {_n(database['throughput'])}/s)",
                         share >= 0.5))  # fmt: skip
    hot = _at(s, "booking", "hot") or {}
    if base in hot:
        p99 = hot[base]["latency_ms"].get("p99", 0)
        fixed = hot.get("fixed_rate", {})
        rows.append((f"p99 ≤ 50 ms at {base} connections (hot booking)",
                     f"{_n(p99, 1)} ms at saturation (closed loop); "
                     f"{_n(_at(fixed, 'latency_ms', 'p99'), 1)} ms at a fixed {_n(fixed.get('rate'))}/s",
                     p99 <= 50))  # fmt: skip
    listing = _at(s, "reads", "list", base)
    if isinstance(listing, dict):
        share = listing.get("vs_health")
        pg = _at(listing, "cpu_ms_per_request", "postgres")
        met = isinstance(share, int | float) and isinstance(pg, int | float)
        rows.append((f"list ≥ 0.15x `/health`, PostgreSQL CPU ≤ 1 ms per page ({base} conn.)",
                     f"{_n(share, 2)}x ({_n(listing['throughput'])}/s); PostgreSQL {_n(pg, 2)} ms",
                     met and share >= 0.15 and pg <= 1))  # fmt: skip
    elif _at(s, "reads", "list", "status") == "pending":
        rows.append(("list ≥ 0.15x `/health`, PostgreSQL CPU ≤ 1 ms per page", "pending", None))
    fan = s.get("fanout", {})
    if "emails_per_s" in fan:
        rows.append(("emails ≥ 500/s to a local SMTP sink",
                     f"{_n(fan['emails_per_s'])}/s ({_n(fan['emails_received'])} emails)",
                     fan["emails_per_s"] >= 500))  # fmt: skip
    home = _at(s, "reads", "home", base)
    if isinstance(listing, dict) and isinstance(home, dict):
        api_list = _at(listing, "cpu_ms_per_request", "api")
        api_home = _at(home, "cpu_ms_per_request", "api")
        if isinstance(api_list, int | float) and isinstance(api_home, int | float) and api_list:
            share = api_home / api_list
            rows.append((f"web home page ≤ 2x the API list's API CPU ({base} conn., issue 18)",
                         f"{share:.2f}x ({api_home:.2f} vs {api_list:.2f} ms)",
                         share <= 2))  # fmt: skip
    console = s.get("console", {})
    if console.get("pages"):
        pages = console["pages"].values()
        worst = max(pages, key=lambda r: r["server_cpu_ms"])
        rows.append((f"every console page < {_n(console['target_cpu_ms'])} ms of server CPU with "
                     f"{_n(console['jobs_waiting'])} jobs waiting (issue 19)",
                     f"worst {_n(worst['server_cpu_ms'], 1)} ms (`{worst['path']}`)",
                     all(r["met"] for r in pages)))  # fmt: skip
    bursts = [r for r in (s.get("burst") or {}).values() if isinstance(r, dict) and "answers" in r]
    if bursts:
        failed = sum(r["server_errors"] for r in bursts)
        total = sum(r["requests"] for r in bursts)
        stalls = max(
            (p["during_ms"].get("max", 0) for r in bursts for p in r["probes"].values()), default=0
        )
        rows.append((f"{bursts[0]['requests']} simultaneous keyed requests: 0 x 5xx",
                     f"{failed} x 5xx or no answer in {total} ({len(bursts)} bursts); other requests "
                     f"meanwhile: max {_n(stalls, 1)} ms",
                     failed == 0))  # fmt: skip
    return rows


def console_table(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    """The console's pages with the queue full: server CPU (API + Redis) and wall time each."""
    console = _at(results, "scenarios", "console") or {}
    if not console.get("pages"):
        return ""
    before = _at(previous, "scenarios", "console", "pages") or {}
    lines = [
        f"{_n(console['jobs_waiting'])} jobs waiting ({_n(console['results'])} finished ones kept; "
        f"Redis {_n(console['redis_used_memory_mb'], 1)} MiB), "
        f"{_n(console['requests_per_page'])} requests per page one after another, by a signed-in "
        f"admin; the target is under {_n(console['target_cpu_ms'])} ms of server CPU per page:",
        "",
        "| Page | Status | Server CPU ms/req: API · Redis | Wall ms: p50 · max | Bytes |",
        "|---|---|---:|---:|---:|",
    ]
    for label, r in console["pages"].items():
        cpu = r["cpu_ms_per_request"]
        then = _at(before, label, "server_cpu_ms")
        lines.append(
            f"| {label} (`{r['path'][:60]}`) | {', '.join(map(str, r['status']))} | "
            f"{_n(cpu['api'], 1)} · {_n(cpu['redis'], 1)}"
            + (f" ({_n(then, 1)})" if then is not None else "")
            + f" | {_n(r['wall_ms']['p50'], 1)} · {_n(r['wall_ms']['max'], 1)} | {_n(r['bytes'])} |"
        )
    return "\n".join(lines)


def targets_table(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    rows = target_rows(results)
    if not rows:
        return ""
    before = {name: value for name, value, _ in target_rows(previous)} if previous else {}
    lines = [
        "| Target (issues 12, 18, 19; 2 cores) | This run | Previous run | Met |",
        "|---|---|---|---|",
    ]
    for name, value, met in rows:
        verdict = "-" if met is None else "yes" if met else "**no**"
        lines.append(f"| {name} | {value} | {before.get(name, '-')} | {verdict} |")
    return "\n".join(lines)


# --- the other tables --------------------------------------------------------------------------------


def _runs_at_base(results: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    s = results["scenarios"]
    base = str(results["config"]["connections"][0])
    runs: list[tuple[str, tuple[str, ...]]] = [(f"GET /health, {base} conn.", ("health", base))]
    for name, label in BOOKINGS.items():
        runs.append((f"{label}, {base} conn.", ("booking", name, base)))
        runs.append((f"pgbench, SQL of a {label}, {base} clients", ("pgbench", name, base)))
    for name, label in READS.items():
        runs.append((f"{label}, {base} conn.", ("reads", name, base)))
    return [(label, path) for label, path in runs if isinstance(_at(s, *path), dict)]


def noise_table(results: dict[str, Any]) -> str:
    s = results["scenarios"]
    lines = ["| Run | load generator CPU | other processes' CPU |", "|---|---:|---:|"]
    for label, path in _runs_at_base(results):
        r = _at(s, *path)
        lines.append(f"| {label} | {r.get('loadgen_cpu_pct', 0):.0f}% | {r.get('others_cpu_pct', 0):.0f}% |")  # fmt: skip
    return "\n".join(lines) if len(lines) > 2 else ""


def workers_table(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    s = results["scenarios"]
    other = s.get("workers", {})
    if not other:
        return ""
    workers = results["config"]["workers"]
    base = str(results["config"]["connections"][0])
    main = {
        "health": _at(s, "health", base),
        "booking_hot": _at(s, "booking", "hot", base),
        "booking_spread": _at(s, "booking", "spread", base),
        "list": _at(s, "reads", "list", base),
    }
    ps = (previous or {}).get("scenarios", {})
    before_main = {
        "health": _at(ps, "health", base),
        "booking_hot": _at(ps, "booking", "hot", base),
        "booking_spread": _at(ps, "booking", "spread", base),
        "list": _at(ps, "reads", "list", base),
    }
    ((count, runs),) = other.items()
    before_other = _at(ps, "workers", count) or {}

    def cell(r: Any, p: Any) -> str:
        r, p = r or {}, p or {}
        return (
            f"{_pair(r.get('throughput'), p.get('throughput'))} · "
            f"{_pair(_at(r, 'latency_ms', 'p99'), _at(p, 'latency_ms', 'p99'), 1)}"
        )

    lines = [f"| {base} connections | {workers} worker(s) | {count} worker(s) |", "|---|---:|---:|"]
    for key, label in (("health", "GET /health"), ("booking_hot", "hot booking"),
                       ("booking_spread", "spread booking"), ("list", "default list")):  # fmt: skip
        if main.get(key) or runs.get(key):
            lines.append(f"| {label}: req/s · p99 ms | {cell(main.get(key), before_main.get(key))} | {cell(runs.get(key), before_other.get(key))} |")  # fmt: skip
    return "\n".join(lines)


def _verbs(verbs: list[str]) -> str:
    """BEGIN SELECT SELECT SELECT COMMIT -> `BEGIN SELECTx3 COMMIT`."""
    runs = [(verb, len(list(group))) for verb, group in itertools.groupby(verbs)]
    return " ".join(verb if n == 1 else f"{verb}x{n}" for verb, n in runs)


def statements_list(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    s = results["scenarios"]
    ps = (previous or {}).get("scenarios", {})
    found: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = [
        ("`POST /api/v1/announcements/{id}/bookings`", _at(s, "sql", "booking"),
         _at(ps, "sql", "booking")),
        ("the same with an `Idempotency-Key`", _at(s, "sql", "booking_keyed"),
         _at(ps, "sql", "booking_keyed")),
    ]  # fmt: skip
    for name in READS:
        paths = _at(s, "reads", name, "paths") or []
        if paths:
            found.append((f"`GET {paths[0]}`", _at(s, "reads", name, "sql"),
                          _at(ps, "reads", name, "sql")))  # fmt: skip
    lines = []
    for label, sql, before in found:
        if not sql:
            continue
        if sql.get("error"):
            lines.append(f"- {label}: the capture failed: {_cell(sql['error'])}")
            continue
        prev = f" (previous run: {before['count']})" if before and "count" in before else ""
        ping = f" + {sql['pre_ping_pairs']} pool pre-ping" if sql.get("pre_ping_pairs") else ""
        shape = (
            f" — {sql['transactions']} transaction(s){ping} on {sql['connections']} "
            f"connection(s): `{_verbs(sql['verbs'])}`"
            if "verbs" in sql
            else ""
        )
        lines.append(f"- {label}: **{sql['count']}**{prev}{shape}")
        lines += [f"  - note: {_cell(note)}" for note in sql.get("notes", [])]
    return "\n".join(lines)


def profile_table(results: dict[str, Any]) -> str:
    parts = []
    for label, prof in results.get("profiles", {}).items():
        if not prof.get("samples"):
            parts.append(f"{label}: {prof.get('status', 'no samples')}")
            continue
        lines = [
            f"py-spy, {prof['samples']} on-CPU samples of one API process during {label} "
            "(an extra run, not the measured one; inclusive shares are lower bounds, as SQLAlchemy's "
            "greenlet hides the callers of some samples):",
            "",
            "| Self time in | % | Inside our function (inclusive) | % |",
            "|---|---:|---|---:|",
        ]
        own = [(k, v) for k, v in prof["self_time_by_package_pct"].items() if v >= 1]
        inside = list(prof["inclusive_pct"].items())[:10]
        for i in range(max(len(own), len(inside))):
            a = f"{own[i][0]} | {own[i][1]:.0f}" if i < len(own) else " | "
            c = f"`{inside[i][0]}` | {inside[i][1]:.0f}" if i < len(inside) else " | "
            lines.append(f"| {a} | {c} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def explain_table(results: dict[str, Any]) -> str:
    reads = results["scenarios"].get("reads", {})
    lines = []
    for name in READS:
        plans = reads.get(name, {}).get("explain", [])
        if plans:
            total = sum(p["execution_ms"] or 0 for p in plans)
            slowest = plans[0]
            lines.append(
                f"- `{reads[name]['paths'][0]}`: {len(plans)} SELECT(s), {total:.1f} ms of execution "
                f"in PostgreSQL (EXPLAIN ANALYZE); the slowest, {_n(slowest['execution_ms'], 1)} ms: "
                f"`{slowest['sql'][:160]}...` (plans in the JSON)"
            )
    return "\n".join(lines)


def _commands(results: dict[str, Any]) -> list[str]:
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            command = node.get("command")
            if isinstance(command, str):
                tool = (
                    "pgbench"
                    if "pgbench" in command
                    else "loadgen"
                    if "loadgen" in command
                    else "burst"
                    if "burst.py" in command
                    else "wrk-" + ("booking" if "booking.lua" in command else "get")
                )
                found.setdefault(tool, command)
            for value in node.values():
                walk(value)

    walk(results["scenarios"])
    return [
        found[k] for k in ("wrk-get", "wrk-booking", "loadgen", "burst", "pgbench") if k in found
    ]


def others_cpu(results: dict[str, Any]) -> float | None:
    """The mean CPU of processes outside the benchmark over the measured runs, % of one core."""
    found: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("others_cpu_pct"), int | float):
                found.append(node["others_cpu_pct"])
            for value in node.values():
                walk(value)

    walk(results["scenarios"])
    return round(sum(found) / len(found), 1) if found else None


def markdown(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    m, v, c = results["machine"], results["versions"], results["config"]
    others = others_cpu(results)
    shared = (others or 0) > 10 or max(m["load_average_before"][0], m["load_average_after"][0]) > 1
    before = (
        f"In parentheses: the previous run's figure for the same scenario (run of "
        f"**{previous['date']}**"
        + (
            ", which compared two booking strategies: its `lock` figures, the default then)"
            if previous.get("config", {}).get("strategies")
            else ")"
        )
        + "."
        if previous
        else "No earlier run in bench/results to compare with."
    )
    parts = [
        f"Run of **{results['date']}** (`make bench`, {results['total_seconds']:.0f} s in all) on "
        f"{m['cpu_model']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; PostgreSQL {v['postgresql']}, Redis {v['redis']}, {v['wrk']}, "
        f"uvicorn {v['uvicorn']} + uvloop {v['uvloop']}, FastAPI {v['fastapi']}, SQLAlchemy "
        f"{v['sqlalchemy']}, asyncpg {v['asyncpg']}. API: `meetup serve --workers {c['workers']} "
        f"--no-access-log`, LOG_LEVEL=warning; load generator pinned to CPU {c['loadgen_cpu']}; "
        f"{c['duration']:.0f} s per measurement after a {c['warmup']:.0f} s warm-up; fixed rates are "
        f"{c['rate_fraction']:.0%} of the saturation measured just before. Load average "
        f"{m['load_average_before'][0]} before, {m['load_average_after'][0]} after"
        + (
            f" — **the machine was shared**: other processes used {others:.0f} % of a core on "
            'average during the measurements (per run under "Noise" and in the JSON).'
            if shared
            else "."
        ),
        "",
        before + " CPU ms per request: the API's processes (uvicorn and its workers) and "
        "PostgreSQL's (every backend and helper), utime + stime over the measurement, divided by "
        "the requests answered; statements per request: counted in PostgreSQL's log "
        '(`log_statement = all`), see "Statements per request".',
        "",
        table(results, previous),
    ]
    for title, body in (("Targets", targets_table(results, previous)),
                        ("Statements per request", statements_list(results, previous)),
                        ("uvicorn workers", workers_table(results, previous)),
                        ("The ops console with a full queue", console_table(results, previous)),
                        ("Noise: the load generator's and other processes' CPU", noise_table(results)),
                        ("Where the API's CPU goes", profile_table(results)),
                        ("The reads' SQL", explain_table(results))):  # fmt: skip
        if body:
            parts += ["", f"**{title}**", "", body]
    examples = _commands(results)
    if examples:
        parts += [
            "",
            "**Commands** (one of each; every result in the JSON has its own)",
            "",
            "```",
            *examples,
            "```",
        ]
    if results.get("error"):
        parts += [
            "",
            "**The run stopped on an error:**",
            "",
            "```",
            results["error"][-1500:],
            "```",
        ]
    return "\n".join(parts)


def write(results: dict[str, Any], out: Path) -> tuple[Path, dict[str, Any] | None]:
    previous = previous_run(out, results["date"])
    if previous:
        results["previous_run"] = previous["date"]
    path = out / f"{results['date']}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")
    if README.exists() and out.resolve() == (README.parent / "results").resolve():
        text = README.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            README.write_text(f"{head}{START}\n{markdown(results, previous)}\n{END}{tail}")
    return path, previous
