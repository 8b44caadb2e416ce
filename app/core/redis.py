"""The Redis client: arq's queue, rate-limit counters and caches. Never the only copy of anything."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.constants import (
    default_queue_name,
    health_check_key_suffix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.asyncio import ConnectionPool
from redis.commands.core import AsyncScript


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


def create_redis(url: str) -> ArqRedis:
    """An arq-capable client that connects lazily, so the API starts (and serves) while Redis is down.

    `arq.create_pool` would ping with retries at start-up and refuse to return without Redis.
    """
    pool = ConnectionPool.from_url(
        url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30
    )
    return ArqRedis(pool_or_conn=pool)


# arq's own `enqueue_job` takes three round trips (WATCH, EXISTS, MULTI/EXEC) to enqueue a job
# unless its id is taken. This script does the same check and write atomically in one, with arq's
# key layout and job encoding (arq is frozen, so both are stable). It is used for the jobs that
# every request enqueues after its commit.
_ENQUEUE_IF_NEW = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[4], ARGV[3])
return 1
"""
_scripts: weakref.WeakKeyDictionary[ArqRedis, AsyncScript] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """An arq job to enqueue unless a job or a kept result with `job_id` exists."""

    function: str
    args: tuple[Any, ...]
    job_id: str
    defer_until: datetime | None = None


def _script(redis: ArqRedis) -> AsyncScript:
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = redis.register_script(_ENQUEUE_IF_NEW)
    return script


def _keys_and_args(redis: ArqRedis, job: QueuedJob) -> tuple[list[str], list[Any]]:
    now_ms = timestamp_ms()
    score = to_unix_ms(job.defer_until) if job.defer_until is not None else now_ms
    payload = serialize_job(
        job.function, job.args, {}, None, now_ms, serializer=redis.job_serializer
    )
    expires_ms = score - now_ms + redis.expires_extra_ms
    keys = [job_key_prefix + job.job_id, result_key_prefix + job.job_id, redis.default_queue_name]
    return keys, [expires_ms, payload, job.job_id, score]


async def enqueue_many(redis: ArqRedis, jobs: Sequence[QueuedJob]) -> list[bool]:
    """Enqueue each job as arq would, unless a job or a kept result with its id exists (then
    False for it), all in one round trip (a pipeline of one script): what a transaction enqueues
    after its commit, one job or a fan-out batch's thousand emails."""
    script = _script(redis)
    async with redis.pipeline(transaction=False) as pipe:
        for job in jobs:
            keys, argv = _keys_and_args(redis, job)
            await script(keys=keys, args=argv, client=pipe)
        results = await pipe.execute()
    return [bool(result) for result in results]


# Every arq worker process writes its health report under a key of its own (arq's default is one
# key for all, so "a worker is alive" held while any one lived): <prefix><host>:<pid>.
WORKER_HEALTH_PREFIX = f"{default_queue_name}{health_check_key_suffix}:"


def worker_health_key(worker: str) -> str:
    """The health key of the worker process `worker` ("<host>:<pid>")."""
    return f"{WORKER_HEALTH_PREFIX}{worker}"
