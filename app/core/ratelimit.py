"""Fixed-window rate limits counted in Redis (`10/minute`, `30/hour`...), on the app clock.

A request reserves its slot (an atomic check-and-count) before the work the limit guards, so no
number of simultaneous requests gets more through than the limit. Login gives the slot back when
the password was right: only failures use up its budget.

Redis being down must not take the site down: most limits then fail open. Login and password reset
fail closed (a 503) instead, because an unthrottled password guesser is worse than a short outage.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from app.core import clock
from app.core.errors import RateLimited, RateLimiterUnavailable
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


# Check every key and count them all, or none: one atomic step, so simultaneous requests cannot
# all pass a check made before any of them counted (the count is the reservation).
_RESERVE = """
local limit = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('get', key) or '0') >= limit then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('incr', key)
  redis.call('expire', key, ARGV[2])
end
return 1
"""
# Give reserved slots back; a window that already expired is left alone (no key without a TTL).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('get', key) or '0') > 0 then redis.call('decr', key) end
end
return 1
"""
_scripts: weakref.WeakKeyDictionary[Redis, tuple[AsyncScript, AsyncScript]] = (
    weakref.WeakKeyDictionary()
)


def _scripts_of(redis: Redis) -> tuple[AsyncScript, AsyncScript]:
    scripts = _scripts.get(redis)
    if scripts is None:
        scripts = _scripts[redis] = (
            redis.register_script(_RESERVE),
            redis.register_script(_RELEASE),
        )
    return scripts


@dataclass(frozen=True)
class Reservation:
    """Slots taken in the windows current when they were reserved."""

    window_keys: tuple[str, ...]


async def reserve(
    redis: Redis, keys: Sequence[str], rate: Rate, *, fail_closed: bool = False
) -> Reservation | None:
    """Take one slot under every key before doing the work the limit guards (a password hash),
    or raise RateLimited (and take none) when any of them has used up its window. A refused
    request does not count. None when Redis is down and the limit fails open."""
    start, retry_after = _window(rate)
    window_keys = tuple(f"rl:{key}:{start}" for key in keys)
    try:
        taken = await _scripts_of(redis)[0](
            keys=list(window_keys), args=[rate.limit, rate.period_s + 1]
        )
    except (RedisError, OSError) as exc:
        _redis_down(",".join(keys), exc, fail_closed)
        return None
    if not int(taken):
        raise RateLimited(retry_after)
    return Reservation(window_keys)


async def release(redis: Redis, reservation: Reservation | None) -> None:
    """Give the slots back: the request turned out not to be what the limit counts (a login
    with the right password)."""
    if reservation is None:
        return
    try:
        await _scripts_of(redis)[1](keys=list(reservation.window_keys))
    except (RedisError, OSError) as exc:  # the slot stays taken until the window ends
        log.warning("rate_limit_release_failed", error=repr(exc))


async def hit(redis: Redis, key: str, rate: Rate, *, fail_closed: bool = False) -> None:
    """Count one request under `key` before its work; raise RateLimited over the limit."""
    await reserve(redis, [key], rate, fail_closed=fail_closed)


def _redis_down(key: str, exc: Exception, fail_closed: bool) -> None:
    log.warning("rate_limit_redis_down", key=key, fail_closed=fail_closed, error=repr(exc))
    if fail_closed:
        raise RateLimiterUnavailable()
