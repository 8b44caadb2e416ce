"""Results: bench/results/<date>.json, and the markdown tables spliced into bench/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
README = Path(__file__).resolve().parent / "README.md"


def best_strategy(results: dict[str, Any]) -> str | None:
    """The fastest strategy at the first connection count, among those with no overbooking."""
    bookings = results["scenarios"].get("booking", {})
    contention = results["scenarios"].get("contention", {})
    base = str(results["config"]["connections"][0])
    scored = [
        (node["hot"][base]["throughput"], strategy)
        for strategy, node in bookings.items()
        if base in node.get("hot", {}) and contention.get(strategy, {}).get("correct", True)
    ]
    return max(scored)[1] if scored else None


def _n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}".replace(",", " ")


def _row(name: str, load: str, r: dict[str, Any], note: str = "") -> str:
    lat = r.get("latency_ms", {})
    return (
        f"| {name} | {load} | {_n(r.get('throughput'))} | {_n(lat.get('p50'), 1)} | "
        f"{_n(lat.get('p99'), 1)} | {r.get('errors', 0)} | {note} |"
    )


def _ratio(r: dict[str, Any], key: str, label: str) -> str:
    value = r.get(key)
    return f"{value:.2f}x {label}" if value is not None else ""


def _cpu(r: dict[str, Any]) -> str:
    cpu = r.get("cpu_ms_per_request", {})
    return " · ".join(f"{k} {cpu[k]:.2f}" for k in ("api", "postgres") if k in cpu)


def table(results: dict[str, Any]) -> str:
    s = results["scenarios"]
    conns = [str(c) for c in results["config"]["connections"]]
    lines = [
        "| Scenario | Load | Throughput /s | p50 ms | p99 ms | Errors | Ratio to baseline (same run) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    health = s.get("health", {})
    for c in conns:
        if c in health:
            lines.append(_row("1. `GET /health` (ceiling)", f"{c} conn.", health[c], "baseline"))
    if "fixed_rate" in health:
        fixed = health["fixed_rate"]
        lines.append(_row("1. `GET /health`", f"fixed {_n(fixed['rate'])}/s", fixed, "open loop"))
    floor = s.get("pgbench", {}).get("commit_floor_1_client")
    if floor:
        lines.append(_row("2. pgbench, one-row UPDATE per commit (disk floor)", "1 client", floor, "fsync-bound"))  # fmt: skip
    for strategy, modes in s.get("booking", {}).items():
        for mode in ("hot", "spread"):
            database = s.get("pgbench", {}).get(strategy, {}).get(mode, {})
            http = modes.get(mode, {})
            number = "3." if mode == "hot" else "4."
            for c in conns:
                if c in database:
                    lines.append(_row(f"2. pgbench, booking SQL ({strategy}, {mode})", f"{c} clients", database[c], "baseline"))  # fmt: skip
            for c in conns:
                if c in http:
                    note = ", ".join(
                        x for x in (_ratio(http[c], "vs_pgbench", "pgbench"), _ratio(http[c], "vs_health", "health")) if x
                    )  # fmt: skip
                    lines.append(
                        _row(f"{number} {mode} booking ({strategy})", f"{c} conn.", http[c], note)
                    )
            if "fixed_rate" in http:
                fixed = http["fixed_rate"]
                lines.append(_row(f"{number} {mode} booking ({strategy})", f"fixed {_n(fixed['rate'])}/s", fixed, "open loop"))  # fmt: skip
    for strategy, r in s.get("contention", {}).items():
        db = r.get("database", {})
        verdict = "✅ no overbooking" if r.get("correct") else "❌ WRONG"
        note = (
            f"{r['statuses'].get('201', 0)} x 201, {r['statuses'].get('409', 0)} x 409; database: "
            f"{db.get('approved_seats')} seats, {db.get('bookings')} bookings — {verdict}"
        )
        lines.append(_row(f"5. contention, 100 seats ({strategy})", "64 conn.", r, note))
    reads = s.get("reads", {})
    if reads.get("status") == "pending":
        lines.append(f"| 6. reads | - | - | - | - | - | pending: {reads['reason']} |")
    for name in ("list", "search"):
        node = reads.get(name, {})
        label = "6. default list" if name == "list" else "6. text search + filter"
        for c in conns:
            if c in node:
                lines.append(
                    _row(label, f"{c} conn.", node[c], _ratio(node[c], "vs_health", "health"))
                )
        if "fixed_rate" in node:
            lines.append(_row(label, f"fixed {_n(node['fixed_rate']['rate'])}/s", node["fixed_rate"], "open loop"))  # fmt: skip
    fan = s.get("fanout", {})
    if fan.get("status") == "pending":
        lines.append(f"| 7. fan-out | - | - | - | - | - | pending: {fan['reason']} |")
    elif fan:

        def took(seconds: float | None) -> str:
            return (
                f"{seconds:.1f} s"
                if seconds is not None
                else f"not within {fan['timeout_s']:.0f} s"
            )

        lines.append(
            f"| 7. fan-out: {_n(fan['notifications'])} reminders due at once | worker | "
            f"{_n(fan['notifications_per_s'])} | - | - | {fan.get('errors', 0)} | all in the inbox in "
            f"{took(fan['seconds_to_inbox'])}; {_n(fan['emails_received'])} emails at the SMTP sink "
            f"in {took(fan['seconds_to_smtp'])} ({_n(fan.get('emails_per_s'))} emails/s) |"
        )
    for label, m in s.get("memory", {}).items():
        lines.append(f"| 8. peak RSS: {label} | - | - | - | - | - | {m['peak_rss_mb']:.0f} MiB in {m['processes']} process(es) |")  # fmt: skip
    return "\n".join(lines)


def targets_table(results: dict[str, Any]) -> str:
    """The guidance of issue 9 against this run (the default strategy, first concurrency)."""
    s = results["scenarios"]
    base = str(results["config"]["connections"][0])
    best = results["config"]["strategies"][0]
    rows = []
    hot = s.get("booking", {}).get(best, {}).get("hot", {})
    database = s.get("pgbench", {}).get(best, {}).get("hot", {}).get(base, {})
    if base in hot and database:
        share = hot[base]["throughput"] / database["throughput"]
        rows.append((
            "hot booking >= 50% of pgbench's rate for the same SQL",
            f"{share:.0%} ({best}, {base} conn.: {_n(hot[base]['throughput'])} vs {_n(database['throughput'])}/s)",
            share >= 0.5,
        ))  # fmt: skip
        fixed = hot.get("fixed_rate", {})
        p99 = hot[base]["latency_ms"].get("p99", 0)
        rows.append((
            f"p99 < 50 ms at {base} connections",
            f"{_n(p99)} ms at saturation (closed loop); {_n(fixed.get('latency_ms', {}).get('p99'), 1)} ms "
            f"at a fixed {_n(fixed.get('rate'))}/s (open loop)",
            p99 < 50,
        ))  # fmt: skip
    listing = s.get("reads", {}).get("list", {}).get(base)
    if listing:
        rows.append(("list page >= 1 500 req/s", f"{_n(listing['throughput'])} req/s ({base} conn.)", listing["throughput"] >= 1500))  # fmt: skip
    elif s.get("reads", {}).get("status") == "pending":
        rows.append(("list page >= 1 500 req/s", "pending: " + s["reads"]["reason"], None))
    fan = s.get("fanout", {})
    if fan.get("notifications_per_s"):
        rows.append((
            "fan-out >= 500 notifications/s",
            f"{_n(fan['notifications_per_s'])}/s into the inbox; emails {_n(fan.get('emails_per_s'))}/s",
            fan["notifications_per_s"] >= 500,
        ))  # fmt: skip
    elif fan.get("status") == "pending":
        rows.append(("fan-out >= 500 notifications/s", "pending: " + fan["reason"], None))
    lines = ["| Guidance (issue 9, 2 cores) | This run | Met |", "|---|---|---|"]
    for name, value, met in rows:
        lines.append(f"| {name} | {value} | {'-' if met is None else 'yes' if met else 'no'} |")
    return "\n".join(lines) if rows else ""


def strategies_table(results: dict[str, Any]) -> str:
    s = results["scenarios"]
    names = list(s.get("booking", {}))
    if len(names) < 2:
        return ""
    base = str(results["config"]["connections"][0])
    lines = [
        "| Hot booking | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]

    def cell(strategy: str, *path: str) -> str:
        node: Any = s["booking"][strategy]
        for key in path:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return _n(node, 1) if isinstance(node, int | float) else "-"

    for c in [str(c) for c in results["config"]["connections"]]:
        lines.append(f"| bookings/s, {c} conn. | " + " | ".join(cell(n, "hot", c, "throughput") for n in names) + " |")  # fmt: skip
        lines.append(f"| p99 ms, {c} conn. | " + " | ".join(cell(n, "hot", c, "latency_ms", "p99") for n in names) + " |")  # fmt: skip
    lines.append("| p99 ms at the fixed rate | " + " | ".join(cell(n, "hot", "fixed_rate", "latency_ms", "p99") for n in names) + " |")  # fmt: skip
    lines.append(f"| spread bookings/s, {base} conn. | " + " | ".join(cell(n, "spread", base, "throughput") for n in names) + " |")  # fmt: skip
    lines.append("| contention: no overbooking | " + " | ".join("yes" if s.get("contention", {}).get(n, {}).get("correct") else "NO" for n in names) + " |")  # fmt: skip
    return "\n".join(lines)


def cpu_table(results: dict[str, Any]) -> str:
    s = results["scenarios"]
    lines = ["| Run | CPU ms per request: api · postgres | load generator CPU | other processes' CPU |", "|---|---|---:|---:|"]  # fmt: skip
    base = str(results["config"]["connections"][0])
    runs: list[tuple[str, dict[str, Any]]] = []
    if base in s.get("health", {}):
        runs.append((f"GET /health, {base} conn.", s["health"][base]))
    for strategy, modes in s.get("booking", {}).items():
        for mode, node in modes.items():
            if base in node:
                runs.append((f"{mode} booking ({strategy}), {base} conn.", node[base]))
            if base in s.get("pgbench", {}).get(strategy, {}).get(mode, {}):
                runs.append((f"pgbench ({strategy}, {mode}), {base} clients", s["pgbench"][strategy][mode][base]))  # fmt: skip
    for name in ("list", "search"):
        if base in s.get("reads", {}).get(name, {}):
            runs.append((f"GET {name}, {base} conn.", s["reads"][name][base]))
    for label, r in runs:
        lines.append(f"| {label} | {_cpu(r)} | {r.get('loadgen_cpu_pct', 0):.0f}% | {r.get('others_cpu_pct', 0):.0f}% |")  # fmt: skip
    return "\n".join(lines)


def workers_table(results: dict[str, Any]) -> str:
    s = results["scenarios"]
    other = s.get("workers", {})
    if not other:
        return ""
    workers = results["config"]["workers"]
    base = str(results["config"]["connections"][0])
    best = results["config"]["strategies"][0]
    main = {
        "health": s.get("health", {}).get(base),
        "booking_hot": s.get("booking", {}).get(best, {}).get("hot", {}).get(base),
        "booking_spread": s.get("booking", {}).get(best, {}).get("spread", {}).get(base),
        "list": s.get("reads", {}).get("list", {}).get(base),
    }
    ((count, runs),) = other.items()
    lines = [f"| {base} connections | {workers} worker(s) | {count} worker(s) |", "|---|---:|---:|"]
    for key, label in (("health", "GET /health"), ("booking_hot", f"hot booking ({best})"),
                       ("booking_spread", f"spread booking ({best})"), ("list", "default list")):  # fmt: skip
        a, b = main.get(key), runs.get(key)
        if a or b:
            lines.append(f"| {label}, req/s (p99 ms) | {_n((a or {}).get('throughput'))} ({_n((a or {}).get('latency_ms', {}).get('p99'), 1)}) | {_n((b or {}).get('throughput'))} ({_n((b or {}).get('latency_ms', {}).get('p99'), 1)}) |")  # fmt: skip
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
    for name in ("list", "search"):
        plans = reads.get(name, {}).get("explain", [])
        if plans:
            total = sum(p["execution_ms"] or 0 for p in plans)
            slowest = plans[0]
            lines.append(
                f"- `{reads[name]['paths'][0]}`: {len(plans)} SELECT(s), {total:.1f} ms of execution "
                f"in PostgreSQL (EXPLAIN ANALYZE); the slowest, {slowest['execution_ms']:.1f} ms: "
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
                    else "wrk-" + ("booking" if "booking.lua" in command else "get")
                )
                found.setdefault(tool, command)
            for value in node.values():
                walk(value)

    walk(results["scenarios"])
    return [found[k] for k in ("wrk-get", "wrk-booking", "loadgen", "pgbench") if k in found]


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


def markdown(results: dict[str, Any]) -> str:
    m, v, c = results["machine"], results["versions"], results["config"]
    others = others_cpu(results)
    shared = (others or 0) > 10 or max(m["load_average_before"][0], m["load_average_after"][0]) > 1
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
            'average during the measurements (per run in "Where the CPU goes" and the JSON).'
            if shared
            else "."
        ),
        "",
        table(results),
    ]
    for title, body in (("Guidance", targets_table(results)),
                        ("Booking strategies side by side", strategies_table(results)),
                        ("uvicorn workers", workers_table(results)),
                        ("Where the CPU goes", cpu_table(results)),
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
    if results.get("faster_strategy_this_run"):
        parts += [
            "",
            f"Faster correct strategy in this run (hot booking, {results['config']['connections'][0]} "
            f"connections): `{results['faster_strategy_this_run']}`; the recommendation, over "
            'several runs, is under "Booking strategies" below.',
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


def write(results: dict[str, Any], out: Path) -> Path:
    path = out / f"{results['date']}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")
    if README.exists() and out.resolve() == (README.parent / "results").resolve():
        text = README.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            README.write_text(f"{head}{START}\n{markdown(results)}\n{END}{tail}")
    return path
