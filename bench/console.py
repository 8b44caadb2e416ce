"""11. The ops console with 100 000 jobs waiting (issue 19): every page of /admin and the admin
API's job routes, each asked REQUESTS times in a row, one at a time, by a signed-in admin, with the
server CPU one request costs (the API's processes and Redis's, utime + stime) and its wall time.

The jobs are written in arq's own format (its serializer, its keys, a pipeline per batch): as many
reminders as a year of meetups would defer (two per meetup), a thousand due now (nobody works the
queue during the run) and a few hundred finished ones, successes and failures, that arq keeps.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import redis.asyncio as aioredis

from bench import data
from bench.infra import process_tree
from bench.scenarios import send

JOBS = 100_000
DUE_NOW = 1_000
FINISHED = 300
BATCH = 5_000
REQUESTS = 20
WARMUP = 3
TARGET_CPU_MS = 1000.0
ADMIN = 9_000_001  # the admin's number (user and session ids)


def _meetup(n: int) -> str:
    return str(data.uid(data.ANNOUNCEMENT, 8_000_000 + n))


async def _admin_token(conn: Any) -> str:
    """An admin with a live session, and an access token for it (the console's cookie)."""
    from app.core import security

    await conn.execute(
        """
        INSERT INTO user_account (id, email, name, bio, password_hash, role, is_active,
                                  is_confirmed, email_notifications, created_at, updated_at)
        VALUES ($1, 'ops@bench.example.com', 'Ops', '', 'x', 'admin', true, true, false,
                now(), now())
        """,
        data.uid(data.USER, ADMIN),
    )
    await conn.execute(
        "INSERT INTO auth_session (id, user_id, refresh_jti, created_at, expires_at) "
        "VALUES ($1, $2, '', now(), now() + interval '1 day')",
        data.uid(data.SESSION, ADMIN),
        data.uid(data.USER, ADMIN),
    )
    token, _ = security.issue_token(
        "access",
        user_id=data.uid(data.USER, ADMIN),
        session_id=data.uid(data.SESSION, ADMIN),
        lifetime=timedelta(hours=6),
    )
    return token


async def _fill(redis: aioredis.Redis) -> dict[str, Any]:
    """JOBS waiting jobs (DUE_NOW of them due) and FINISHED results, as arq writes them."""
    from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
    from arq.jobs import serialize_job, serialize_result

    from app.notifications.reminders import SEND_REMINDER_JOB, reminder_job_id

    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    started = time.monotonic()
    deferred = JOBS - DUE_NOW
    for first in range(0, JOBS, BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(first, min(first + BATCH, JOBS)):
                if i < deferred:  # two reminders per meetup, the meetups spread over a year
                    meetup, kind = _meetup(i // 2), ("reminder_24h", "reminder_1h")[i % 2]
                    event = now + timedelta(minutes=10 + (i // 2) * 525_600 // (deferred // 2))
                    lead = timedelta(hours=24 if i % 2 == 0 else 1)
                    due_ms = max(now_ms + 60_000, int((event - lead).timestamp() * 1000))
                    epoch = int(event.timestamp())
                    job_id = reminder_job_id(kind, meetup, epoch)
                    body = serialize_job(SEND_REMINDER_JOB, (meetup, kind, epoch), {}, None, now_ms)
                else:  # due now: outbox events waiting for a worker
                    due_ms = now_ms - (JOBS - i) * 10
                    job_id = f"event:{data.uid(data.EVENT, i)}:sweep:{now_ms // 60_000}"
                    body = serialize_job("process_event", (job_id[6:42],), {}, None, due_ms)
                pipe.psetex(job_key_prefix + job_id, max(due_ms - now_ms, 0) + 86_400_000, body)
                pipe.zadd(default_queue_name, {job_id: due_ms})
            await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(FINISHED):
            ok = i % 3 != 0
            error = ValueError(f"SMTP refused message {i}") if not ok else None
            job_id = f"event:{data.uid(data.EVENT, 500_000 + i)}"
            result = serialize_result(
                "process_event", (job_id[6:],), {}, 1 if ok else 3, now_ms - 60_000,
                ok, "delivered" if ok else error, now_ms - 30_000 + i, now_ms - 29_000 + i,
                "bench", default_queue_name, job_id,
            )  # fmt: skip
            if result is not None:
                pipe.psetex(result_key_prefix + job_id, 3_600_000, result)
        await pipe.execute()
    return {
        "jobs_waiting": await redis.zcard(default_queue_name),
        "results": FINISHED,
        "fill_seconds": round(time.monotonic() - started, 1),
        "redis_used_memory_mb": round((await redis.info("memory"))["used_memory"] / 2**20, 1),
    }


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def _measure(
    b: Any, path: str, headers: dict[str, str], redis_pids: list[int]
) -> dict[str, Any]:
    url = f"{b.loader.url}{path}"
    for _ in range(WARMUP):
        await asyncio.to_thread(send, urllib.request.Request(url, headers=headers))
    api_pids = b.server.pids() if b.server else []
    api_before, redis_before = _cpu_seconds(api_pids), _cpu_seconds(redis_pids)
    walls, statuses, size = [], set(), 0
    for _ in range(REQUESTS):
        t = time.perf_counter()
        request = urllib.request.Request(url, headers=headers)
        status, body = await asyncio.to_thread(send, request)
        size = len(body.encode())
        walls.append((time.perf_counter() - t) * 1000)
        statuses.add(status)
    api_ms = (_cpu_seconds(api_pids) - api_before) * 1000 / REQUESTS
    redis_ms = (_cpu_seconds(redis_pids) - redis_before) * 1000 / REQUESTS
    return {
        "path": path,
        "status": sorted(statuses),
        "bytes": size,
        "requests": REQUESTS,
        "cpu_ms_per_request": {"api": round(api_ms, 2), "redis": round(redis_ms, 2)},
        "server_cpu_ms": round(api_ms + redis_ms, 2),
        "wall_ms": {"p50": round(statistics.median(walls), 2), "max": round(max(walls), 2)},
        "met": statuses == {200} and api_ms + redis_ms < TARGET_CPU_MS,
    }


async def run(b: Any, redis_url: str, redis_pid: int | None) -> dict[str, Any]:
    token = await _admin_token(b.conn)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        filled = await _fill(redis)
        print(f"  console: {filled['jobs_waiting']} jobs waiting in {filled['fill_seconds']} s")
        cookie = {"Cookie": f"meetup_admin={token}"}
        bearer = {"Authorization": f"Bearer {token}"}
        last = _meetup((JOBS - DUE_NOW) // 2 - 1)  # its reminders are the queue's last
        some_job = f"reminder:24h:{last}:"
        found = [k.decode() async for k, _ in redis.zscan_iter("arq:queue", match=some_job + "*")]
        pages: list[tuple[str, str, dict[str, str]]] = [
            ("overview", "/admin", cookie),
            ("live panel (htmx refresh)", "/admin/live", {**cookie, "HX-Request": "true"}),
            ("all jobs, page 1", "/admin/jobs", cookie),
            ("deferred, page 1", "/admin/jobs?state=deferred", cookie),
            ("deferred, page 2 000", "/admin/jobs?state=deferred&page_number=2000", cookie),
            ("queued, page 1", "/admin/jobs?state=queued", cookie),
            ("failed, page 1", "/admin/jobs?state=failed", cookie),
            ("search by meetup (the last one due)", f"/admin/jobs?q={last}", cookie),
            ("filter by function", "/admin/jobs?state=deferred&function=send_reminder", cookie),
            ("a job's page", f"/admin/jobs/{found[0] if found else 'none'}", cookie),
            ("API: deferred jobs, 100", "/api/v1/admin/jobs?state=deferred&limit=100", bearer),
            ("API: job stats, 24 h", "/api/v1/admin/jobs/stats?window=24h", bearer),
            ("/metrics", "/metrics", {}),
        ]
        redis_pids = process_tree(redis_pid)
        measured: dict[str, Any] = {}
        for label, path, headers in pages:
            result = await _measure(b, path, headers, redis_pids)
            measured[label] = result
            print(
                f"  console {label:<38} {result['server_cpu_ms']:>8.1f} ms CPU"
                f" (api {result['cpu_ms_per_request']['api']:.1f} · redis"
                f" {result['cpu_ms_per_request']['redis']:.1f})  wall p50"
                f" {result['wall_ms']['p50']:.1f} ms  status {result['status']}",
                flush=True,
            )
        return {
            **filled,
            "target_cpu_ms": TARGET_CPU_MS,
            "requests_per_page": REQUESTS,
            "pages": measured,
        }
    finally:
        await redis.flushdb()
        await redis.aclose()
