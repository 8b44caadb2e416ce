"""Readiness: can we reach PostgreSQL and Redis right now?"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from sqlalchemy import text

from app.core.db import Database
from app.core.logging import get_logger

log = get_logger(__name__)
CHECK_TIMEOUT_S = 2.0


async def _postgres_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("readiness_postgres_down", error=repr(exc))
        return False


async def _redis_ok(redis: Redis) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await redis.ping()
        return True
    except Exception as exc:
        log.warning("readiness_redis_down", error=repr(exc))
        return False


async def check_services(db: Database, redis: Redis) -> dict[str, str]:
    postgres, redis_up = await asyncio.gather(_postgres_ok(db), _redis_ok(redis))
    return {"postgres": "ok" if postgres else "down", "redis": "ok" if redis_up else "down"}
