"""Job history that outlives arq's results: per-minute counts and duration histograms in Redis.

The worker (app/worker.py's hooks) writes, for every job run it finishes, one pipelined batch:

- `meetup:jobstats:m:<minute epoch>`, `meetup:jobstats:5m:<5-minute epoch>` and
  `meetup:jobstats:h:<hour epoch>`: one hash per period (epoch seconds of its start), expiring
  after 8 days, with the fields `<function>|completed`, `|failed`, `|retried` and `<function>|b<i>`:
  how many runs took up to BUCKETS[i] seconds (not cumulative; the last one is +Inf). The three
  granularities are written together so that a window reads at most 288 hashes: 1h = 60 minutes,
  24h = 288 five-minute periods, 7d = 168 hours.
- `meetup:jobstats:total` (never expires): the same fields, cumulative since the first job, plus
  `<function>|sum` (seconds, HINCRBYFLOAT) and `<function>|count`: the Prometheus counters and
  histogram of /metrics (app/core/metrics.py) are read from it on each scrape.
- `meetup:jobtraceback:<job id>`: a failed run's traceback, kept as long as arq keeps results.
- `meetup:jobrunning:<host:pid>`: a hash of the jobs that worker process runs now (job id ->
  start, epoch ms), set when a job starts and cleared when it ends; it expires RUNNING_TTL_S
  after the last start, so a killed worker's entries do not linger (arq's own in-progress marker
  does not say which worker holds a job).

A run ends `completed`, `failed` (arq keeps the failure) or `retried` (arq runs it again: `Retry`
raised, or cancelled by a shutdown). Percentiles come from the merged buckets, interpolating
linearly inside the bucket that holds the rank.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from arq.connections import ArqRedis
from arq.constants import default_queue_name, in_progress_key_prefix, result_key_prefix
from arq.jobs import DeserializationError, deserialize_result
from arq.typing import WorkerCoroutine
from arq.worker import Function, Retry, RetryJob
from pydantic import Field

from app.core.logging import get_logger
from app.core.schemas import ApiEnum, ResponseModel
from app.jobs.safe_pickle import safe_loads

log = get_logger(__name__)

PREFIX = "meetup:jobstats"
TOTAL_KEY = f"{PREFIX}:total"
TRACEBACK_PREFIX = "meetup:jobtraceback:"
RUNNING_PREFIX = "meetup:jobrunning:"
RUNNING_TTL_S = 3600
TTL_S = 8 * 24 * 3600
TRACEBACK_LIMIT = 20_000
# Upper bounds in seconds; a run longer than the last one counts in +Inf.
BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
OUTCOMES = ("completed", "failed", "retried")
READ_BATCH = 100  # hashes per pipeline on read
OLDEST_SCAN = 200  # queue entries looked at to skip running jobs for the oldest queued age

# What the tracked wrapper leaves in the job's ctx for after_job_end.
CTX_FUNCTION = "meetup_stats_function"
CTX_OUTCOME = "meetup_stats_outcome"
CTX_DURATION = "meetup_stats_duration"
CTX_TRACEBACK = "meetup_stats_traceback"
CTX_STARTED = "meetup_stats_started"


class StatsWindow(ApiEnum):
    hour = "1h"
    day = "24h"
    week = "7d"


# window -> (key granularity, period seconds, periods)
_WINDOWS: dict[StatsWindow, tuple[str, int, int]] = {
    StatsWindow.hour: ("m", 60, 60),
    StatsWindow.day: ("5m", 300, 288),
    StatsWindow.week: ("h", 3600, 168),
}


def bucket_index(duration_s: float) -> int:
    for i, bound in enumerate(BUCKETS):
        if duration_s <= bound:
            return i
    return len(BUCKETS)


def period_key(granularity: str, epoch: int) -> str:
    return f"{PREFIX}:{granularity}:{epoch}"


def traceback_key(job_id: str) -> str:
    return TRACEBACK_PREFIX + job_id


def running_key(worker: str) -> str:
    return RUNNING_PREFIX + worker


def record(
    redis: Any,
    function: str,
    outcome: str,
    duration_s: float,
    *,
    now: float | None = None,
    job_id: str | None = None,
    failure: str | None = None,
    keep_result_s: float = 3600,
) -> Any:
    """Queue the writes of one finished run on `redis` (a pipeline); the caller executes it."""
    moment = int(time.time() if now is None else now)
    bucket = f"{function}|b{bucket_index(duration_s)}"
    for granularity, size in (("m", 60), ("5m", 300), ("h", 3600)):
        key = period_key(granularity, moment - moment % size)
        redis.hincrby(key, f"{function}|{outcome}", 1)
        redis.hincrby(key, bucket, 1)
        redis.expire(key, TTL_S)
    redis.hincrby(TOTAL_KEY, f"{function}|{outcome}", 1)
    redis.hincrby(TOTAL_KEY, bucket, 1)
    redis.hincrby(TOTAL_KEY, f"{function}|count", 1)
    redis.hincrbyfloat(TOTAL_KEY, f"{function}|sum", duration_s)
    if failure is not None and job_id is not None:
        redis.set(traceback_key(job_id), failure[-TRACEBACK_LIMIT:], px=int(keep_result_s * 1000))
    return redis


# --- the worker side -----------------------------------------------------------------------


JobCoroutine = Callable[..., Awaitable[Any]]


def _wrap(name: str, coroutine: JobCoroutine) -> WorkerCoroutine:
    @functools.wraps(coroutine)
    async def tracked(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        ctx[CTX_FUNCTION] = name
        started = time.perf_counter()
        try:
            result = await coroutine(ctx, *args, **kwargs)
        except (Retry, RetryJob):
            ctx[CTX_OUTCOME] = "retried"
            raise
        except asyncio.CancelledError:
            ctx.pop(CTX_OUTCOME, None)  # retried, aborted or timed out: after_job_end looks
            raise
        except Exception:
            ctx[CTX_OUTCOME] = "failed"
            ctx[CTX_TRACEBACK] = traceback.format_exc()
            raise
        else:
            ctx[CTX_OUTCOME] = "completed"
            return result
        finally:
            ctx[CTX_DURATION] = time.perf_counter() - started

    return cast(WorkerCoroutine, tracked)


def tracked(functions: Iterable[Any]) -> list[Function]:
    """arq functions (coroutines or `arq.func(...)`) that leave their outcome, duration and
    traceback in ctx for after_job_end (arq's hooks see neither the outcome nor the exception)."""
    out = []
    for fn in functions:
        if isinstance(fn, Function):
            out.append(dataclasses.replace(fn, coroutine=_wrap(fn.name, fn.coroutine)))
        else:
            name = fn.__qualname__
            out.append(Function(name, _wrap(name, fn), None, None, None, None))
    return out


def tracked_coroutine(name: str, coroutine: JobCoroutine) -> WorkerCoroutine:
    """A cron job's coroutine, tracked (cron() names it `cron:<qualname>`)."""
    return _wrap(name, coroutine)


async def on_job_start(ctx: dict[str, Any], worker: str | None = None) -> None:
    """Note the start (for the duration) and, under the worker's name, that it runs this job."""
    ctx[CTX_STARTED] = time.perf_counter()
    if worker is None:
        return
    redis: ArqRedis = ctx["redis"]
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(running_key(worker), ctx["job_id"], str(int(time.time() * 1000)))
            pipe.expire(running_key(worker), RUNNING_TTL_S)
            await pipe.execute()
    except Exception as exc:  # the console's bookkeeping never fails a job
        log.warning("job_start_not_recorded", job_id=ctx.get("job_id"), error=repr(exc)[:300])


async def after_job_end(
    ctx: dict[str, Any], keep_result_s: float = 3600, worker: str | None = None
) -> None:
    """One pipelined batch of HINCRBYs per run. A run whose outcome the wrapper could not tell
    (cancelled; or an untracked function) is told from Redis: a result kept means it ended
    (its `success` flag says how), none means arq will run it again."""
    redis: ArqRedis = ctx["redis"]
    job_id: str = ctx["job_id"]
    try:
        function = ctx.get(CTX_FUNCTION)
        outcome = ctx.get(CTX_OUTCOME)
        duration = ctx.get(CTX_DURATION)
        if duration is None:
            duration = time.perf_counter() - ctx.get(CTX_STARTED, time.perf_counter())
        if function is None or outcome is None:
            raw = await redis.get(result_key_prefix + job_id)
            if raw is None:
                outcome = "retried"
                if function is None:
                    function = await _function_of_waiting(redis, job_id)
            else:
                try:
                    result = deserialize_result(raw, deserializer=safe_loads)
                    function = function or str(result.function)
                    outcome = "completed" if result.success is True else "failed"
                except DeserializationError:
                    function, outcome = function or "<unknown>", "failed"
        async with redis.pipeline(transaction=False) as pipe:
            record(
                pipe,
                str(function),
                str(outcome),
                float(duration),
                job_id=job_id,
                failure=ctx.get(CTX_TRACEBACK) if outcome == "failed" else None,
                keep_result_s=keep_result_s,
            )
            if worker is not None:
                pipe.hdel(running_key(worker), job_id)
            await pipe.execute()
    except Exception as exc:  # the statistics never fail a job
        log.warning("job_stats_not_recorded", job_id=job_id, error=repr(exc)[:300])


async def _function_of_waiting(redis: ArqRedis, job_id: str) -> str:
    from arq.constants import job_key_prefix
    from arq.jobs import deserialize_job

    raw = await redis.get(job_key_prefix + job_id)
    if raw is None:
        return "<unknown>"
    try:
        return str(deserialize_job(raw, deserializer=safe_loads).function)
    except DeserializationError:
        return "<unknown>"


# --- the read side -------------------------------------------------------------------------


class StatsPoint(ResponseModel):
    start: datetime = Field(description="Start of the period (a minute, 5 minutes or an hour)")
    completed: int
    failed: int
    retried: int
    p50_seconds: float | None = Field(description="Median run duration (null: no run)")
    p95_seconds: float | None


class FunctionStats(ResponseModel):
    function: str
    completed: int = Field(description="Over the whole window")
    failed: int
    retried: int
    p50_seconds: float | None
    p95_seconds: float | None
    points: list[StatsPoint] = Field(description="Every period of the window, oldest first")


class JobStats(ResponseModel):
    window: StatsWindow
    step_seconds: int = Field(description="Length of each point's period: 60, 300 or 3600")
    since: datetime = Field(description="Start of the first period")
    queue_depth: int = Field(description="Jobs due now and not running")
    deferred: int = Field(description="Jobs due later")
    oldest_queued_age_seconds: float | None = Field(
        description="How long the longest-waiting due job has been due (null: none waits)"
    )
    functions: list[FunctionStats]


def percentile(buckets: list[int], q: float) -> float | None:
    """The q-quantile of a histogram of len(BUCKETS) + 1 counts, linear inside the bucket."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(buckets):
        if count and seen + count >= rank:
            if i == len(BUCKETS):
                return BUCKETS[-1]  # beyond the last bound: at least that
            low = BUCKETS[i - 1] if i else 0.0
            return round(low + (BUCKETS[i] - low) * (rank - seen) / count, 6)
        seen += count
    return BUCKETS[-1]  # pragma: no cover - rank <= total


@dataclasses.dataclass
class _Tally:
    completed: int = 0
    failed: int = 0
    retried: int = 0
    buckets: list[int] = dataclasses.field(default_factory=lambda: [0] * (len(BUCKETS) + 1))

    def add(self, field: str, value: int) -> None:
        if field in OUTCOMES:
            setattr(self, field, getattr(self, field) + value)
        elif field.startswith("b") and field[1:].isdigit() and int(field[1:]) <= len(BUCKETS):
            self.buckets[int(field[1:])] += value

    def merge(self, other: _Tally) -> None:
        self.completed += other.completed
        self.failed += other.failed
        self.retried += other.retried
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]


def _parse(raw: dict[Any, Any], only: str | None) -> dict[str, _Tally]:
    tallies: dict[str, _Tally] = {}
    for name, value in raw.items():
        text = name.decode() if isinstance(name, bytes) else str(name)
        function, _, field = text.rpartition("|")
        if not function or (only is not None and function != only):
            continue
        try:
            count = int(value)
        except ValueError:
            continue
        tallies.setdefault(function, _Tally()).add(field, count)
    return tallies


async def _read_hashes(redis: ArqRedis, keys: list[str]) -> list[dict[Any, Any]]:
    found: list[dict[Any, Any]] = []
    for start in range(0, len(keys), READ_BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys[start : start + READ_BATCH]:
                pipe.hgetall(key)
            found += await pipe.execute()
    return found


async def queue_depth(redis: ArqRedis, now_ms: int) -> tuple[int, int, float | None]:
    """(due and not running, deferred, age in s of the longest-due job not running). The
    running jobs stay in the queue's sorted set, but there are few (max_jobs per worker): the
    oldest entries are read in bounded pages to skip them, never the whole queue."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcount(default_queue_name, "-inf", now_ms)
        pipe.zcount(default_queue_name, f"({now_ms}", "+inf")
        due, deferred = await pipe.execute()
    running = 0
    oldest: float | None = None
    offset = 0
    while offset < min(due, OLDEST_SCAN * 5):
        entries = await redis.zrangebyscore(
            default_queue_name, "-inf", now_ms, start=offset, num=OLDEST_SCAN, withscores=True
        )
        if not entries:
            break
        async with redis.pipeline(transaction=False) as pipe:
            for raw, _ in entries:
                pipe.exists(in_progress_key_prefix + raw.decode())
            flags = await pipe.execute()
        for (_, score), flag in zip(entries, flags, strict=True):
            if flag:
                running += 1
            elif oldest is None:
                oldest = max(0.0, (now_ms - score) / 1000)
        if oldest is not None:
            break
        offset += len(entries)
    return int(due) - running, int(deferred), (round(oldest, 3) if oldest is not None else None)


async def stats(
    redis: ArqRedis, window: StatsWindow, function: str | None, now: float | None = None
) -> JobStats:
    moment = time.time() if now is None else now
    granularity, size, periods = _WINDOWS[window]
    last = int(moment) - int(moment) % size
    starts = [last - size * i for i in range(periods - 1, -1, -1)]
    hashes = await _read_hashes(redis, [period_key(granularity, s) for s in starts])
    per_period = [_parse(raw, function) for raw in hashes]
    names = sorted({name for tallies in per_period for name in tallies})
    if function is not None and function not in names:
        names = [function]
    result = []
    for name in names:
        whole = _Tally()
        points = []
        for start, tallies in zip(starts, per_period, strict=True):
            tally = tallies.get(name, _Tally())
            whole.merge(tally)
            points.append(
                StatsPoint(
                    start=datetime.fromtimestamp(start, UTC),
                    completed=tally.completed,
                    failed=tally.failed,
                    retried=tally.retried,
                    p50_seconds=percentile(tally.buckets, 0.5),
                    p95_seconds=percentile(tally.buckets, 0.95),
                )
            )
        result.append(
            FunctionStats(
                function=name,
                completed=whole.completed,
                failed=whole.failed,
                retried=whole.retried,
                p50_seconds=percentile(whole.buckets, 0.5),
                p95_seconds=percentile(whole.buckets, 0.95),
                points=points,
            )
        )
    depth, deferred, oldest = await queue_depth(redis, int(moment * 1000))
    return JobStats(
        window=window,
        step_seconds=size,
        since=datetime.fromtimestamp(starts[0], UTC),
        queue_depth=depth,
        deferred=deferred,
        oldest_queued_age_seconds=oldest,
        functions=result,
    )


@dataclasses.dataclass(frozen=True)
class FunctionTotals:
    function: str
    outcomes: dict[str, int]
    buckets: list[int]  # not cumulative, len(BUCKETS) + 1
    sum_seconds: float


async def totals(redis: ArqRedis) -> list[FunctionTotals]:
    """The never-expiring cumulative counters of /metrics."""
    raw = cast(dict[Any, Any], await redis.hgetall(TOTAL_KEY))  # type: ignore[misc]
    tallies = _parse(raw, None)
    sums: dict[str, float] = {}
    for name, value in raw.items():
        text = name.decode() if isinstance(name, bytes) else str(name)
        function, _, field = text.rpartition("|")
        if field == "sum":
            sums[function] = float(value)
    return [
        FunctionTotals(
            function=name,
            outcomes={o: getattr(t, o) for o in OUTCOMES},
            buckets=t.buckets,
            sum_seconds=sums.get(name, 0.0),
        )
        for name, t in sorted(tallies.items())
    ]
