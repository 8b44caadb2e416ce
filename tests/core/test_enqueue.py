"""`enqueue_many`: arq's enqueue semantics (a job id is taken while its job or result exists) in
one round trip, readable by arq's own Job API and run by its worker."""

from __future__ import annotations

from datetime import timedelta

from arq.jobs import Job, JobStatus
from fastapi import FastAPI

from app.core import clock
from app.core.redis import QueuedJob, enqueue_many


async def test_a_job_is_enqueued_once_per_id_as_arq_would(app: FastAPI) -> None:
    redis = app.state.redis
    first = QueuedJob("process_event", ("e-1",), "event:e-1")
    assert await enqueue_many(redis, [first]) == [True]
    assert await enqueue_many(redis, [first]) == [False]
    job = Job("event:e-1", redis)
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert info is not None
    assert (info.function, info.args) == ("process_event", ("e-1",))
    assert await redis.zcard(redis.default_queue_name) == 1


async def test_a_deferred_job_waits_for_its_time(app: FastAPI) -> None:
    redis = app.state.redis
    due = clock.now() + timedelta(hours=1)
    reminder = QueuedJob("send_reminder", ("a", "1h", 0), "r:1", defer_until=due)
    assert await enqueue_many(redis, [reminder]) == [True]
    job = Job("r:1", redis)
    assert await job.status() == JobStatus.deferred
    score = await redis.zscore(redis.default_queue_name, "r:1")
    assert abs(score / 1000 - due.timestamp()) < 0.01
    # The key lives until a day after its due time, like arq's own.
    ttl_ms = await redis.pttl("arq:job:r:1")
    assert timedelta(hours=24) < timedelta(milliseconds=ttl_ms) <= timedelta(hours=25)


async def test_an_id_with_a_kept_result_is_not_enqueued_again(app: FastAPI) -> None:
    redis = app.state.redis
    await redis.set("arq:result:event:e-2", b"x")
    assert await enqueue_many(redis, [QueuedJob("process_event", ("e-2",), "event:e-2")]) == [False]


async def test_many_jobs_in_one_call_each_once(app: FastAPI) -> None:
    """A batch (as a fan-out's emails): every new id enqueued, a repeated one only the first time,
    and each job readable by arq."""
    redis = app.state.redis
    jobs = [QueuedJob("send_email", (f"m-{i}",), f"email:m-{i}") for i in range(500)]
    assert await enqueue_many(redis, [*jobs, jobs[0]]) == [True] * 500 + [False]
    assert await redis.zcard(redis.default_queue_name) == 500
    info = await Job("email:m-499", redis).info()
    assert info is not None and info.args == ("m-499",)
