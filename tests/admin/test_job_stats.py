"""/api/v1/admin/jobs/stats and the job counters of /metrics: the history the worker writes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from arq import Retry
from fastapi import FastAPI

from app.jobs import stats as job_stats
from app.worker import WorkerSettings
from tests.support.factories import UserFactory, run_worker_until_idle

URL = "/api/v1/admin/jobs/stats"


async def quick(ctx: dict[str, Any], n: int) -> int:
    await asyncio.sleep(0.03)  # the (0.025, 0.05] s bucket
    return n


async def broken(ctx: dict[str, Any], n: int) -> None:
    raise ValueError(f"broken {n}")


async def flaky(ctx: dict[str, Any]) -> str:
    if ctx["job_try"] == 1:
        raise Retry(defer=0)
    return "ok"


async def run_test_worker(app: FastAPI) -> None:
    """A real worker with the app's functions and the three above, until nothing is due."""
    await run_worker_until_idle(
        app, [*WorkerSettings.functions, *job_stats.tracked([quick, broken, flaky])]
    )


async def scripted_jobs(app: FastAPI) -> None:
    redis = app.state.redis
    for n in range(3):
        await redis.enqueue_job("quick", n, _job_id=f"quick-{n}")
    for n in range(2):
        await redis.enqueue_job("broken", n, _job_id=f"broken-{n}")
    await redis.enqueue_job("flaky", _job_id="flaky")
    await run_test_worker(app)


def _by_function(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["function"]: entry for entry in body["functions"]}


async def test_stats_count_a_scripted_sequence_of_jobs_exactly(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory
) -> None:
    admin = await users.admin()
    await scripted_jobs(app)

    response = await client.get(URL, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["window"], body["step_seconds"], body["queue_depth"]) == ("1h", 60, 0)
    assert body["oldest_queued_age_seconds"] is None
    functions = _by_function(body)
    assert set(functions) == {"quick", "broken", "flaky"}
    totals = {name: (f["completed"], f["failed"], f["retried"]) for name, f in functions.items()}
    assert totals == {"quick": (3, 0, 0), "broken": (0, 2, 0), "flaky": (1, 0, 1)}

    # Per minute: 60 points, the runs in the current one (or the one before, at a boundary).
    for entry in functions.values():
        assert len(entry["points"]) == 60
        busy = [
            i for i, p in enumerate(entry["points"]) if p["completed"] + p["failed"] + p["retried"]
        ]
        assert busy and busy[-1] >= 58
        summed = [sum(p[k] for p in entry["points"]) for k in ("completed", "failed", "retried")]
        assert tuple(summed) == totals[entry["function"]]
    # The three quick runs all fell in the (0.025, 0.05] bucket: interpolated percentiles.
    quick_stats = functions["quick"]
    assert quick_stats["p50_seconds"] == 0.0375
    assert quick_stats["p95_seconds"] == 0.04875
    assert functions["broken"]["p95_seconds"] <= 0.005

    # The buckets as written: one per run, the same in the minute, 5-minute and hour hashes.
    minute = int(time.time()) // 60 * 60
    raw = {}
    for start in (minute - 60, minute):
        for key, value in (await app.state.redis.hgetall(job_stats.period_key("m", start))).items():
            raw[key.decode()] = raw.get(key.decode(), 0) + int(value)
    assert raw["quick|b3"] == 3 and raw["broken|b0"] == 2 and raw["flaky|b0"] == 2
    assert all(
        0 < ttl <= job_stats.TTL_S
        for ttl in [
            await app.state.redis.ttl(job_stats.period_key("h", int(time.time()) // 3600 * 3600))
        ]
    )

    only = (await client.get(URL, params={"function": "broken"}, headers=admin.headers)).json()
    assert [f["function"] for f in only["functions"]] == ["broken"]
    for window, step, points in (("24h", 300, 288), ("7d", 3600, 168)):
        coarse = (await client.get(URL, params={"window": window}, headers=admin.headers)).json()
        assert coarse["step_seconds"] == step
        flaky_stats = _by_function(coarse)["flaky"]
        assert len(flaky_stats["points"]) == points
        assert (flaky_stats["completed"], flaky_stats["retried"]) == (1, 1)
    bad = await client.get(URL, params={"window": "2h"}, headers=admin.headers)
    assert bad.status_code == 422


async def test_stats_report_the_queue_depth_and_the_oldest_wait(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory
) -> None:
    admin = await users.admin()
    redis = app.state.redis
    await redis.enqueue_job("quick", 1, _job_id="due")
    await redis.enqueue_job("quick", 2, _job_id="later", _defer_by=3600)
    await asyncio.sleep(0.05)
    body = (await client.get(URL, headers=admin.headers)).json()
    assert (body["queue_depth"], body["deferred"]) == (1, 1)
    assert 0.04 <= body["oldest_queued_age_seconds"] < 5
    assert body["functions"] == []


async def test_metrics_expose_cumulative_job_counters_and_durations(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await scripted_jobs(app)
    body = (await client.get("/metrics")).text
    assert 'meetup_jobs_total{function="quick",outcome="completed"} 3.0' in body
    assert 'meetup_jobs_total{function="broken",outcome="failed"} 2.0' in body
    assert 'meetup_jobs_total{function="flaky",outcome="retried"} 1.0' in body
    assert 'meetup_job_duration_seconds_bucket{function="quick",le="0.025"} 0.0' in body
    assert 'meetup_job_duration_seconds_bucket{function="quick",le="0.05"} 3.0' in body
    assert 'meetup_job_duration_seconds_bucket{function="quick",le="+Inf"} 3.0' in body
    assert 'meetup_job_duration_seconds_count{function="flaky"} 2.0' in body
    assert "meetup_queue_depth" in body  # the gauges stay


async def test_only_admins_read_the_stats(client: httpx.AsyncClient, users: UserFactory) -> None:
    member = await users.create()
    assert (await client.get(URL, headers=member.headers)).status_code == 403
    assert (await client.get(URL)).status_code == 401


def test_percentiles_interpolate_inside_the_buckets() -> None:
    empty = [0] * (len(job_stats.BUCKETS) + 1)
    assert job_stats.percentile(empty, 0.5) is None
    two = list(empty)
    two[0], two[len(job_stats.BUCKETS)] = 1, 1
    assert job_stats.percentile(two, 0.5) == 0.005
    assert job_stats.percentile(two, 0.95) == job_stats.BUCKETS[-1]  # beyond 60 s: at least that
    assert job_stats.bucket_index(0.005) == 0 and job_stats.bucket_index(61) == len(
        job_stats.BUCKETS
    )
