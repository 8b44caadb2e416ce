"""Fixed-window rate limits counted in Redis (`10/minute`, `30/hour`...).

Redis being down must not take the site down: most limits then fail open. Login and password reset
fail closed (a 503) instead, because an unthrottled password guesser is worse than a short outage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core import clock
from app.core.errors import RateLimited, ServiceUnavailable
from app.core.logging import get_logger

log = get_logger(__name__)

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period_s: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        count, _, period = text.strip().partition("/")
        try:
            return cls(int(count), _PERIODS[period.strip().rstrip("s")])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"rate limit must look like '10/minute', got {text!r}") from exc


def _window(rate: Rate) -> tuple[int, int]:
    now = clock.now().timestamp()
    start = int(now // rate.period_s) * rate.period_s
    return start, max(1, math.ceil(start + rate.period_s - now))


async def hit(redis: Redis, key: str, rate: Rate, *, fail_closed: bool = False) -> None:
    """Count one event under `key`; raise RateLimited once the window's limit is exceeded."""
    start, retry_after = _window(rate)
    window_key = f"rl:{key}:{start}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(window_key)
            pipe.expire(window_key, rate.period_s + 1)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        return _redis_down(key, exc, fail_closed)
    if int(count) > rate.limit:
        raise RateLimited(retry_after)


async def check(redis: Redis, key: str, rate: Rate, *, fail_closed: bool = False) -> None:
    """Refuse if `key` already used up its window, without counting this request."""
    start, retry_after = _window(rate)
    try:
        count = await redis.get(f"rl:{key}:{start}")
    except (RedisError, OSError) as exc:
        return _redis_down(key, exc, fail_closed)
    if count is not None and int(count) >= rate.limit:
        raise RateLimited(retry_after)


async def count(redis: Redis, key: str, rate: Rate) -> None:
    """Count one event (a failed login) without checking."""
    start, _ = _window(rate)
    window_key = f"rl:{key}:{start}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(window_key)
            pipe.expire(window_key, rate.period_s + 1)
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("rate_limit_count_failed", key=key, error=repr(exc))


def _redis_down(key: str, exc: Exception, fail_closed: bool) -> None:
    log.warning("rate_limit_redis_down", key=key, fail_closed=fail_closed, error=repr(exc))
    if fail_closed:
        raise ServiceUnavailable(
            "Sign-in is briefly unavailable while the rate limiter recovers. Try again shortly.",
            code="rate_limiter_unavailable",
        )
