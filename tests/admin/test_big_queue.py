"""A queue of 20 000 jobs: the job monitor reads only the page asked for (counts with ZCOUNT,
the page with ZRANGEBYSCORE ... LIMIT), never the whole queue."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job, serialize_result
from arq.utils import timestamp_ms
from fastapi import FastAPI

from app.admin import jobs
from tests.support.factories import UserFactory

URL = "/api/v1/admin/jobs"
DEFERRED, DUE = 20_000, 50


async def _fill(redis: ArqRedis) -> int:
    now = timestamp_ms()
    body = serialize_job("send_reminder", ("x", "reminder_1h", 0), {}, None, now)
    assert body is not None
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(DEFERRED):
            pipe.set(job_key_prefix + f"later-{n:05}", body)
            pipe.zadd(default_queue_name, {f"later-{n:05}": now + 3_600_000 + n})
        for n in range(DUE):
            pipe.set(job_key_prefix + f"due-{n:02}", body)
            pipe.zadd(default_queue_name, {f"due-{n:02}": now - 60_000 + n})
        await pipe.execute()
    return now


async def _stats(redis: ArqRedis) -> dict[str, Any]:
    return dict(await redis.info("commandstats"))


async def test_a_big_queue_is_paged_with_bounded_reads(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory
) -> None:
    admin = await users.admin()
    redis: ArqRedis = app.state.redis
    await _fill(redis)

    await redis.config_resetstat()
    first = await client.get(URL, params={"state": "deferred", "limit": 7}, headers=admin.headers)
    assert first.status_code == 200, first.text
    stats = await _stats(redis)
    page = first.json()
    assert page["total"] == DEFERRED
    assert [job["id"] for job in page["items"]] == [f"later-{n:05}" for n in range(7)]
    assert all(job["state"] == "deferred" for job in page["items"])
    # No ZRANGE 0 -1 of the queue; one ZRANGEBYSCORE of the page; the bodies of 7 jobs only.
    assert "cmdstat_zrange" not in stats
    assert stats["cmdstat_zrangebyscore"]["calls"] == 1
    assert stats["cmdstat_mget"]["calls"] <= 2
    assert "cmdstat_get" not in stats or stats["cmdstat_get"]["calls"] < 20

    second = (
        await client.get(
            URL, params={"state": "deferred", "limit": 7, "offset": 7}, headers=admin.headers
        )
    ).json()
    assert [job["id"] for job in second["items"]] == [f"later-{n:05}" for n in range(7, 14)]
    last = (
        await client.get(
            URL,
            params={"state": "deferred", "limit": 100, "offset": DEFERRED - 3},
            headers=admin.headers,
        )
    ).json()
    assert [job["id"] for job in last["items"]] == [
        f"later-{n:05}" for n in range(DEFERRED - 3, DEFERRED)
    ]

    queued = (
        await client.get(
            URL, params={"state": "queued", "limit": 20, "offset": 40}, headers=admin.headers
        )
    ).json()
    assert queued["total"] == DUE
    assert [job["id"] for job in queued["items"]] == [f"due-{n:02}" for n in range(40, DUE)]

    everything = (
        await client.get(URL, params={"limit": 5, "offset": DUE - 2}, headers=admin.headers)
    ).json()
    assert everything["total"] == DUE + DEFERRED
    assert [job["id"] for job in everything["items"]] == [
        "due-48",
        "due-49",
        "later-00000",
        "later-00001",
        "later-00002",
    ]


async def test_the_monitor_and_metrics_count_a_big_queue_without_reading_it(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    redis: ArqRedis = app.state.redis
    await _fill(redis)
    await redis.config_resetstat()
    body = (await client.get("/metrics")).text
    stats = await _stats(redis)
    assert f'meetup_queue_depth{{state="queued"}} {float(DUE)}' in body
    assert f'meetup_queue_depth{{state="deferred"}} {float(DEFERRED)}' in body
    assert "cmdstat_zrange" not in stats
    assert "cmdstat_mget" not in stats  # no job body read at all


async def test_results_are_scanned_up_to_a_cap_and_the_overview_says_so(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis: ArqRedis = app.state.redis
    now = timestamp_ms()
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(30):
            result = serialize_result(
                "send_reminder",
                (),
                {},
                1,
                now,
                True,
                "ok",
                now,
                now + n,
                f"r{n}",
                "q",
                job_id=f"r{n}",
            )
            assert result is not None
            pipe.set(result_key_prefix + f"r{n}", result)
        await pipe.execute()
    assert not (await jobs.overview(redis)).results_truncated
    monkeypatch.setattr(jobs, "SCAN_CAP", 10)
    capped = await jobs.overview(redis)
    assert capped.results_truncated
    assert capped.counts[jobs.JobState.complete] == 10
