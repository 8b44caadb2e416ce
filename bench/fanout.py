"""7. Fan-out: 10 000 reminders due at once (ten full meetups of 1 000 people: host + 999 approved
guests, starting in two hours, booked days ago), the worker started with them all due: seconds until
every notification is in the inbox (the notification table) and every email at the SMTP sink."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from typing import Any

from bench import data
from bench.infra import BENCH, VENV_BIN, Monitor, Service


def not_ready() -> str | None:
    from app.notifications import tasks

    names = [getattr(f, "__name__", str(f)) for f in tasks.FUNCTIONS]
    if not any("remind" in name for name in names):
        return (
            "the notifications worker has no reminder job yet (app/notifications/tasks.py "
            f"FUNCTIONS = {names})"
        )
    return None


async def _meetups(b: Any, recipients: int) -> tuple[int, int]:
    """Full meetups whose reminders are all due; returns (meetups, notifications expected)."""
    meetups = math.ceil(recipients / 1000)
    guests = recipients // meetups - 1  # plus the host
    first = b.announcements.next_number
    b.announcements.next_number += meetups
    conn = b.conn
    await conn.execute(
        f"""
        INSERT INTO announcement (id, author_id, movie_title, title, description, event_time,
            duration_minutes, ends_at, location, timezone, tickets_count, approved_seats,
            waitlist_count, likes_count, is_free, sub_only, approval, tags, short_code,
            created_at, updated_at)
        SELECT {data.sql_uid(data.ANNOUNCEMENT, "n")}, {data.sql_uid(data.HOST, "100 + n - $1::int")},
            'Stalker', 'Big screening ' || n, 'A full house.', now() + interval '2 hours', 120,
            now() + interval '4 hours', 'Big hall', 'Europe/Berlin', 1000, $3::int, 0, 0, true,
            false, 'auto', '{{}}', 'f' || n, now() - interval '3 days', now() - interval '3 days'
        FROM generate_series($1::int, $1::int + $2::int - 1) AS n
        """,
        first,
        meetups,
        guests,
    )
    await conn.execute(
        f"""
        INSERT INTO booking (id, announcement_id, guest_id, seats, status, event_time, ends_at,
            approved_at, short_code, created_at, updated_at)
        SELECT gen_random_uuid(), a.id, {data.sql_uid(data.USER, "(a.n - $1::int) * $3::int + g")},
            1, 'approved', a.event_time, a.ends_at, now() - interval '2 days',
            'f' || a.n || '-' || g, now() - interval '2 days', now() - interval '2 days'
        FROM (SELECT {data.sql_uid(data.ANNOUNCEMENT, "n")} AS id, n,
                     now() + interval '2 hours' AS event_time, now() + interval '4 hours' AS ends_at
              FROM generate_series($1::int, $1::int + $2::int - 1) AS n) AS a,
             generate_series(1, $3::int) AS g
        """,
        first,
        meetups,
        guests,
    )
    await conn.execute("VACUUM ANALYZE announcement, booking")
    return meetups, meetups * (guests + 1)


async def run(
    b: Any,
    base_env: dict[str, str],
    holder: dict[str, Any],
    monitor: Monitor,
    memory: dict[str, Any],
) -> dict[str, Any]:
    reason = not_ready()
    if reason:
        print(f"  fan-out: pending ({reason})", flush=True)
        return {"status": "pending", "reason": reason}
    from app.core.embedded import free_port

    meetups, expected = await _meetups(b, b.cfg.fanout)
    smtp_port = free_port()
    count_file = b.workdir / "smtp-count"
    count_file.write_text("0")
    sink = Service("smtp", [sys.executable, str(BENCH / "smtp_sink.py"), str(smtp_port), str(count_file)],
                   dict(os.environ), b.workdir / "smtp.log")  # fmt: skip
    sink.start()
    env = {
        **base_env,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
    }
    worker = Service("worker", [str(VENV_BIN / "meetup"), "worker"], env, b.workdir / "worker.log")
    timeout = float(os.environ.get("BENCH_FANOUT_TIMEOUT", "150"))
    monitor.reset_peaks()
    started = time.monotonic()
    worker.start()
    holder["worker"] = worker
    inbox_at = smtp_at = None
    notified = emailed = 0
    try:
        while time.monotonic() - started < timeout and (inbox_at is None or smtp_at is None):
            await asyncio.sleep(0.25)
            notified = await b.conn.fetchval(
                "SELECT count(*) FROM notification WHERE kind LIKE 'reminder%'"
            )
            emailed = int(await asyncio.to_thread(count_file.read_text) or 0)
            now = time.monotonic() - started
            if inbox_at is None and notified >= expected:
                inbox_at = now
            if smtp_at is None and emailed >= expected:
                smtp_at = now
        spread = await b.conn.fetchrow(
            "SELECT min(created_at) AS first, max(created_at) AS last FROM notification "
            "WHERE kind LIKE 'reminder%'"
        )
    finally:
        monitor.sample()
        stats = monitor.stats["worker"]
        memory["worker (fan-out)"] = {"peak_rss_mb": round(stats.peak_rss / 2**20, 1), "processes": stats.peak_processes}  # fmt: skip
        worker.stop()
        holder["worker"] = None
        sink.stop()
    within = (spread["last"] - spread["first"]).total_seconds() if spread["first"] else None
    result = {
        "meetups": meetups,
        "notifications": expected,
        "notifications_created": notified,
        "emails_received": emailed,
        "seconds_to_inbox": round(inbox_at, 2) if inbox_at is not None else None,
        "seconds_to_smtp": round(smtp_at, 2) if smtp_at is not None else None,
        "first_to_last_notification_s": within,
        "notifications_per_s": round(expected / inbox_at, 1) if inbox_at else 0.0,
        "emails_per_s": round(expected / smtp_at, 1) if smtp_at else 0.0,
        "errors": max(0, expected - notified) + max(0, expected - emailed),
        "timed_out": inbox_at is None or smtp_at is None,
        "timeout_s": timeout,
        "note": "timed from the worker's start (its start-up sweep finds them all due)",
    }
    print(f"  fan-out: {result}", flush=True)
    return result
