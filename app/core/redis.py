"""The Redis client: arq's queue, rate-limit counters and caches. Never the only copy of anything."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool


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
