"""Background jobs as arq keeps them in Redis: list by state, retry a failed one, abort a waiting
one, the overview of the /admin page, and the queue gauges of /metrics.

arq's keys: the queue is the sorted set `arq:queue` (score = when the job is due, in ms);
`arq:job:{id}` holds a waiting job, `arq:in-progress:{id}` marks a running one, `arq:retry:{id}`
counts its tries, and `arq:result:{id}` keeps a finished one (success or failure) for
`keep_result` seconds. `arq:queue:health-check:<host>:<pid>` is each worker process's heartbeat.

Redis only ever holds a copy of what PostgreSQL decides must happen (the outbox, pending emails,
due reminders), so aborting a job does not cancel the work it stood for: the minute sweep
enqueues it again if the database still says it is due.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import (
    default_queue_name,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.jobs import (
    DeserializationError,
    JobDef,
    JobResult,
    deserialize_job,
    deserialize_result,
    serialize_result,
)
from arq.utils import args_to_string, timestamp_ms
from pydantic import BaseModel, Field
from redis.exceptions import RedisError, WatchError

from app.admin.errors import JobNotAbortable, JobNotFailed, JobRunning, RedisUnavailable
from app.core import metrics
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.logging import get_logger
from app.core.redis import WORKER_HEALTH_PREFIX
from app.core.schemas import ResponseModel
from app.jobs import stats as job_stats
from app.jobs.safe_pickle import Unreadable, safe_loads
from app.notifications.reminders import SEND_REMINDER_JOB, SEND_REVIEW_INVITATIONS_JOB

log = get_logger(__name__)

CHUNK = 500
# At most this many keys are examined by one SCAN (results, in-progress markers).
SCAN_CAP = 10_000
# Keys Redis walks per SCAN call. SCAN walks the whole keyspace whatever the pattern, and every
# waiting job is a key: 100 000 of them take 10 round trips, not the 1 000 of COUNT 100 (each call
# holds Redis for about a millisecond).
SCAN_COUNT = 10_000
RECENT_FAILURES = 20
REDIS_TIMEOUT_S = 3.0
UNREADABLE = "<unreadable>"


class JobState(enum.StrEnum):
    queued = "queued"
    deferred = "deferred"
    in_progress = "in_progress"
    complete = "complete"
    failed = "failed"


class JobView(ResponseModel):
    id: str
    function: str
    args: str = Field(description="The job's arguments, shortened")
    state: JobState
    enqueued: datetime | None
    scheduled_for: datetime | None = Field(description="When it is (or was) due to run")
    tries: int = Field(description="Times a worker started it")
    started: datetime | None = None
    finished: datetime | None = None
    duration_seconds: float | None = None
    result: str | None = Field(default=None, description="What a complete job returned")
    error: str | None = Field(default=None, description="Why a failed job failed")
    meetup_id: str | None = Field(
        default=None, description="The meetup it is for (reminders and review invitations)"
    )


class WorkerBeat(BaseModel):
    worker: str = Field(description="The worker process: host:pid")
    age_seconds: float = Field(description="Seconds since its last report")
    report: str = Field(description="arq's report: jobs complete/failed/retried/ongoing")
    running: list[str] = Field(
        default_factory=list, description="Ids of the jobs it is running now"
    )


class Heartbeat(BaseModel):
    seen: bool = Field(description="A worker reported within the last health-check interval")
    age_seconds: float | None = Field(description="Seconds since the freshest report")
    report: str | None = Field(description="The freshest worker's report")
    workers: list[WorkerBeat] = Field(
        default_factory=list, description="Every worker process that reported within the interval"
    )


class Overview(BaseModel):
    counts: dict[JobState, int]
    queue_depth: int = Field(description="Jobs waiting in the queue (queued + deferred)")
    heartbeat: Heartbeat
    recent_failures: list[JobView]
    results_truncated: bool = Field(
        default=False,
        description=f"More than {SCAN_CAP} results are kept: only that many were examined",
    )


def _ms(moment: datetime | int | float | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC)
    return datetime.fromtimestamp(moment / 1000, UTC)


def _short(value: Any, limit: int = 500) -> str:
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, Unreadable):
        text = UNREADABLE
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error(value: Any, limit: int = 500) -> str:
    if isinstance(value, BaseException):
        message = str(value)
        name = type(value).__name__
        return _short(f"{name}: {message}" if message else name, limit)
    return _short(value, limit)


# Jobs whose first argument is the meetup (announcement) they are for.
MEETUP_JOBS = frozenset({SEND_REMINDER_JOB, SEND_REVIEW_INVITATIONS_JOB})


def _meetup_of(function: str, args: Any) -> str | None:
    if function not in MEETUP_JOBS or not isinstance(args, tuple | list) or not args:
        return None
    first = args[0]
    try:
        return str(uuid.UUID(first)) if isinstance(first, str) else None
    except ValueError:
        return None


def _from_result(job_id: str, result: JobResult) -> JobView:
    return JobView(
        id=job_id,
        function=result.function,
        args=args_to_string(result.args, result.kwargs),
        state=JobState.complete if result.success else JobState.failed,
        enqueued=_ms(result.enqueue_time),
        scheduled_for=None,
        tries=result.job_try or 0,
        started=_ms(result.start_time),
        finished=_ms(result.finish_time),
        duration_seconds=round((result.finish_time - result.start_time).total_seconds(), 3),
        result=_short(result.result) if result.success else None,
        error=None if result.success else _error(result.result),
        meetup_id=_meetup_of(result.function, result.args),
    )


def _unreadable_result(job_id: str) -> JobView:
    """A result arq could not have written (or from another serializer): never unpickled."""
    return JobView(
        id=job_id,
        function=UNREADABLE,
        args=UNREADABLE,
        state=JobState.failed,
        enqueued=None,
        scheduled_for=None,
        tries=0,
        error=UNREADABLE,
    )


def _result_view(job_id: str, raw: bytes) -> JobView:
    try:
        result = deserialize_result(raw, deserializer=safe_loads)
        if not isinstance(result.function, str) or not isinstance(result.success, bool):
            raise DeserializationError("not arq's")
        return _from_result(job_id, result)
    except (DeserializationError, TypeError, ValueError, AttributeError):
        return _unreadable_result(job_id)


def _from_definition(
    job_id: str, definition: JobDef, score: float, running: bool, tries: int
) -> JobView:
    now = timestamp_ms()
    state = (
        JobState.in_progress if running else (JobState.deferred if score > now else JobState.queued)
    )
    return JobView(
        id=job_id,
        function=definition.function,
        args=args_to_string(definition.args, definition.kwargs),
        state=state,
        enqueued=_ms(definition.enqueue_time),
        scheduled_for=_ms(score),
        tries=tries,
        meetup_id=_meetup_of(definition.function, definition.args),
    )


async def _chunked_get(redis: ArqRedis, keys: list[str]) -> list[bytes | None]:
    values: list[bytes | None] = []
    for start in range(0, len(keys), CHUNK):
        values += await redis.mget(keys[start : start + CHUNK])
    return values


async def _views(
    redis: ArqRedis, entries: list[tuple[bytes, float]], running: set[str]
) -> list[JobView]:
    """The views of these queue entries: their bodies and tries for this page only, one pipeline."""
    ids = [raw.decode() for raw, _ in entries]
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        pipe.mget([job_key_prefix + i for i in ids])
        pipe.mget([retry_key_prefix + i for i in ids])
        definitions, tries = await pipe.execute()
    views = []
    for job_id, (_, score), raw, tried in zip(ids, entries, definitions, tries, strict=True):
        if raw is None:
            continue  # finished (or expired) between the two reads
        try:
            definition = deserialize_job(raw, deserializer=safe_loads)
        except DeserializationError:
            continue
        views.append(
            _from_definition(job_id, definition, score, job_id in running, int(tried or 0))
        )
    return views


async def _running_ids(redis: ArqRedis) -> set[str]:
    """Ids of running jobs: SCAN of arq's in-progress keys, at most SCAN_CAP keys (max_jobs per
    worker keeps them few)."""
    found: set[str] = set()
    async for key in redis.scan_iter(match=in_progress_key_prefix + "*", count=SCAN_COUNT):
        found.add(
            (key.decode() if isinstance(key, bytes) else key).removeprefix(in_progress_key_prefix)
        )
        if len(found) >= SCAN_CAP:
            break
    return found


class _Counts(BaseModel):
    due: int
    deferred: int
    running: set[str]

    @property
    def queued(self) -> int:
        return max(0, self.due - len(self.running))


async def _counts(redis: ArqRedis, now_ms: int) -> _Counts:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcount(default_queue_name, "-inf", now_ms)
        pipe.zcount(default_queue_name, f"({now_ms}", "+inf")
        due, deferred = await pipe.execute()
    return _Counts(due=due, deferred=deferred, running=await _running_ids(redis))


async def _queued_page(
    redis: ArqRedis, now_ms: int, running: set[str], offset: int, limit: int
) -> list[JobView]:
    """Due jobs not running, soonest first: ZRANGEBYSCORE with LIMIT for this page only (a few
    extra entries stand in for the running ones, which stay in the queue)."""
    if limit <= 0:
        return []
    entries = await redis.zrangebyscore(
        default_queue_name, "-inf", now_ms, start=offset, num=limit + len(running), withscores=True
    )
    entries = [e for e in entries if e[0].decode() not in running][:limit]
    return await _views(redis, entries, running)


async def _deferred_page(redis: ArqRedis, now_ms: int, offset: int, limit: int) -> list[JobView]:
    if limit <= 0:
        return []
    entries = await redis.zrangebyscore(
        default_queue_name, f"({now_ms}", "+inf", start=offset, num=limit, withscores=True
    )
    return await _views(redis, entries, set())


async def _in_progress(redis: ArqRedis, running: set[str]) -> list[JobView]:
    ids = sorted(running)
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.zscore(default_queue_name, job_id)
        scores = await pipe.execute()
    entries = sorted(
        ((i.encode(), s) for i, s in zip(ids, scores, strict=True) if s is not None),
        key=lambda e: e[1],
    )
    return await _views(redis, entries, running)


async def _finished(redis: ArqRedis) -> tuple[list[JobView], bool]:
    """Complete and failed jobs whose results arq still keeps, most recently finished first:
    SCAN in bounded batches, at most SCAN_CAP keys examined (then True: truncated)."""
    keys: list[str] = []
    truncated = False
    async for key in redis.scan_iter(match=result_key_prefix + "*", count=SCAN_COUNT):
        if len(keys) >= SCAN_CAP:
            truncated = True
            break
        keys.append(key.decode() if isinstance(key, bytes) else key)
    views = []
    for key, raw in zip(keys, await _chunked_get(redis, keys), strict=True):
        if raw is None:
            continue
        views.append(_result_view(key.removeprefix(result_key_prefix), raw))
    views.sort(key=lambda v: v.finished or datetime.min.replace(tzinfo=UTC), reverse=True)
    return views, truncated


@asynccontextmanager
async def redis_answers() -> AsyncIterator[None]:
    """Redis down or stuck: a 503 `redis_unavailable`, after at most REDIS_TIMEOUT_S."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            yield
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("jobs_redis_unavailable", error=repr(exc)[:300])
        raise RedisUnavailable() from exc


async def list_jobs(
    redis: ArqRedis, state: JobState | None, offset: int = 0, limit: int = 20
) -> tuple[list[JobView], int]:
    """(this page, total) of the jobs in `state` (or all, by state): counted with ZCOUNT, the
    waiting page read with ZRANGEBYSCORE ... LIMIT, never the whole queue."""
    async with redis_answers():
        now = timestamp_ms()
        counts = await _counts(redis, now)
        finished: list[JobView] = []
        if state in (None, JobState.complete, JobState.failed):
            finished, _ = await _finished(redis)
        running = (
            await _in_progress(redis, counts.running)
            if state in (None, JobState.in_progress)
            else []
        )
        segments: dict[JobState, int] = {
            JobState.queued: counts.queued,
            JobState.deferred: counts.deferred,
            JobState.in_progress: len(running),
            JobState.complete: sum(j.state == JobState.complete for j in finished),
            JobState.failed: sum(j.state == JobState.failed for j in finished),
        }
        items: list[JobView] = []
        skip = offset
        for segment in JobState:
            if state is not None and segment != state:
                continue
            size = segments[segment]
            if skip >= size:
                skip -= size
                continue
            want = limit - len(items)
            if want <= 0:
                break
            if segment == JobState.queued:
                items += await _queued_page(redis, now, counts.running, skip, want)
            elif segment == JobState.deferred:
                items += await _deferred_page(redis, now, skip, want)
            else:
                pool = (
                    running
                    if segment == JobState.in_progress
                    else [j for j in finished if j.state == segment]
                )
                items += pool[skip : skip + want]
            skip = 0
        total = sum(segments.values()) if state is None else segments[state]
    return items, total


@dataclasses.dataclass(frozen=True)
class JobFilter:
    """Which jobs a console list shows: a state, a function, and text found in the job's id,
    its meetup's id or its arguments."""

    state: JobState | None = None
    function: str | None = None
    text: str | None = None

    @property
    def narrows(self) -> bool:
        return bool(self.function or self.text)

    def matches(self, view: JobView) -> bool:
        if self.function and view.function != self.function:
            return False
        if not self.text:
            return True
        text = self.text.lower()
        return (
            text in view.id.lower()
            or (view.meetup_id is not None and text in view.meetup_id)
            or text in view.args.lower()
        )


class JobSearch(BaseModel):
    items: list[JobView]
    total: int = Field(description="Jobs that match (of those examined)")
    truncated: bool = Field(
        description=f"The filter looked at the first {SCAN_CAP} jobs only: there may be more"
    )


async def _search_waiting(
    redis: ArqRedis, low: str | int, high: str | int, where: JobFilter, budget: int
) -> tuple[list[JobView], int, bool]:
    """(matching waiting jobs in due order, entries examined, stopped at the budget?): the queue
    range read a CHUNK at a time, the job bodies of each chunk in one MGET."""
    found: list[JobView] = []
    examined = 0
    while examined < budget:
        entries = await redis.zrangebyscore(
            default_queue_name,
            low,
            high,
            start=examined,
            num=min(CHUNK, budget - examined),
            withscores=True,
        )
        if not entries:
            return found, examined, False
        examined += len(entries)
        found += [view for view in await _views(redis, entries, set()) if where.matches(view)]
    more = await redis.zcount(default_queue_name, low, high) > examined
    return found, examined, bool(more)


_GLOB = str.maketrans({c: "\\" + c for c in "*?[]\\^-"})


async def _waiting_with_id(redis: ArqRedis, text: str) -> tuple[list[tuple[bytes, float]], bool]:
    """Queue entries whose job id contains `text`, in the whole queue: ZSCAN MATCH does the
    matching inside Redis, SCAN_COUNT entries per call, and stops at SCAN_CAP matches. Meetup jobs
    carry their meetup's id in their job id, so this finds a meetup's reminders however long the
    queue is. True: it stopped at the cap."""
    pattern = f"*{text.lower().translate(_GLOB)}*"
    found: list[tuple[bytes, float]] = []
    async for member, score in redis.zscan_iter(
        default_queue_name, match=pattern, count=SCAN_COUNT
    ):
        if len(found) >= SCAN_CAP:
            return found, True
        found.append((member, score))
    return found, False


def _due_order(view: JobView) -> datetime:
    return view.scheduled_for or datetime.max.replace(tzinfo=UTC)


async def find_jobs(
    redis: ArqRedis, where: JobFilter, offset: int = 0, limit: int = 20
) -> JobSearch:
    """A page of the jobs `where` picks. Without a function or text it is list_jobs (exact
    totals, only this page read); with one, the jobs are examined in bounded batches, at most
    SCAN_CAP waiting ones and SCAN_CAP finished ones, and `truncated` says the search stopped.
    Text found in a waiting job's id is looked for in the whole queue (`_waiting_with_id`)."""
    if not where.narrows:
        items, total = await list_jobs(redis, where.state, offset, limit)
        return JobSearch(items=items, total=total, truncated=False)
    async with redis_answers():
        now = timestamp_ms()
        running = await _running_ids(redis)
        matched: list[JobView] = []
        budget = SCAN_CAP
        wanted = {where.state} if where.state is not None else set(JobState)
        by_id, truncated = await _waiting_with_id(redis, where.text) if where.text else ([], False)
        for state, low, high in (
            (JobState.queued, "-inf", now),
            (JobState.deferred, f"({now}", "+inf"),
        ):
            if state in wanted:
                found, examined, cut = await _search_waiting(redis, low, high, where, budget)
                budget -= examined
                truncated |= cut
                seen = {v.id for v in found}
                due = [
                    e
                    for e in by_id
                    if (e[1] <= now) == (state == JobState.queued) and e[0].decode() not in seen
                ]
                for start in range(0, len(due), CHUNK):
                    found += [
                        v
                        for v in await _views(redis, due[start : start + CHUNK], set())
                        if where.matches(v)
                    ]
                found.sort(key=_due_order)
                matched += [v for v in found if v.id not in running]
        if JobState.in_progress in wanted:
            matched += [v for v in await _in_progress(redis, running) if where.matches(v)]
        if wanted & {JobState.complete, JobState.failed}:
            finished, cut = await _finished(redis)
            matched += [v for v in finished if v.state in wanted and where.matches(v)]
            truncated |= cut
    return JobSearch(
        items=matched[offset : offset + limit], total=len(matched), truncated=truncated
    )


class JobDetail(JobView):
    arguments: str = Field(description="The job's arguments in full (up to 10 000 characters)")
    traceback: str | None = Field(
        default=None, description="Where a failed job failed (kept as long as its result)"
    )


async def _lookup(redis: ArqRedis, job_id: str) -> tuple[JobDetail | None, bool]:
    """(the job, running?) read straight from its own keys: never the whole queue."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(job_key_prefix + job_id)
        pipe.zscore(default_queue_name, job_id)
        pipe.exists(in_progress_key_prefix + job_id)
        pipe.get(retry_key_prefix + job_id)
        pipe.get(result_key_prefix + job_id)
        pipe.get(job_stats.traceback_key(job_id))
        definition, score, running, tried, result, failure = await pipe.execute()
    running = bool(running)
    view: JobView | None = None
    arguments = UNREADABLE
    if definition is not None and score is not None:
        try:
            job = deserialize_job(definition, deserializer=safe_loads)
            view = _from_definition(job_id, job, score, running, int(tried or 0))
            arguments = _arguments(job.args, job.kwargs)
        except (DeserializationError, TypeError, ValueError):
            view = None
    if view is None and result is not None:
        view = _result_view(job_id, result)
        if view.function != UNREADABLE:
            parsed = deserialize_result(result, deserializer=safe_loads)
            arguments = _arguments(parsed.args, parsed.kwargs)
            if not parsed.success:
                view.error = _error(parsed.result, limit=10_000)
            else:
                view.result = _short(parsed.result, limit=10_000)
    if view is None:
        return None, running
    detail = JobDetail(
        **view.model_dump(),
        arguments=arguments,
        traceback=failure.decode(errors="replace") if failure and view.state == "failed" else None,
    )
    return detail, running


def _arguments(args: Any, kwargs: Any) -> str:
    try:
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in dict(kwargs).items()]
    except (TypeError, ValueError):
        return UNREADABLE
    return _short(", ".join(parts), limit=10_000)


async def get_job(redis: ArqRedis, job_id: str) -> JobDetail:
    async with redis_answers():
        found, _ = await _lookup(redis, job_id)
    if found is None:
        raise NotFound(N_("No such job (finished jobs are kept for an hour)."))
    return found


async def delete_job(redis: ArqRedis, job_id: str) -> None:
    """Remove a queued, deferred or finished job: its definition, queue entry, tries, result and
    traceback. A running one is refused (its worker would write its result back)."""
    queue_key, in_progress = default_queue_name, in_progress_key_prefix + job_id
    async with redis_answers():
        for _ in range(5):
            async with redis.pipeline(transaction=True) as pipe:
                # Under a WATCH of the in-progress key: a worker starting it meanwhile aborts this.
                await pipe.watch(in_progress, job_key_prefix + job_id, queue_key)
                if await pipe.exists(in_progress):
                    await pipe.reset()
                    raise JobRunning()
                pipe.multi()
                pipe.zrem(queue_key, job_id)
                pipe.delete(
                    job_key_prefix + job_id,
                    retry_key_prefix + job_id,
                    result_key_prefix + job_id,
                    job_stats.traceback_key(job_id),
                )
                try:
                    removed_from_queue, removed_keys = await pipe.execute()
                except WatchError:
                    continue
            if not removed_from_queue and not removed_keys:
                raise NotFound(N_("No such job (finished jobs are kept for an hour)."))
            log.info("job_deleted", job_id=job_id)
            return
    raise JobRunning(N_("The job changed while deleting it; try again."))


async def retry_job(redis: ArqRedis, job_id: str) -> JobView:
    """Enqueue a failed job's function with the same arguments under a new id."""
    async with redis_answers():
        raw = await redis.get(result_key_prefix + job_id)
    if raw is None:
        await get_job(redis, job_id)  # 404 if unknown
        raise JobNotFailed()
    result = deserialize_result(raw, deserializer=safe_loads)
    if result.success:
        raise JobNotFailed()
    new_id = f"{job_id.split(':retry:')[0]}:retry:{uuid.uuid4().hex[:8]}"
    async with redis_answers():
        job = await redis.enqueue_job(
            result.function, *result.args, _job_id=new_id, **result.kwargs
        )
    if job is None:  # pragma: no cover - a random id is never taken
        raise JobNotFailed(N_("The job could not be enqueued again."))
    log.info("job_retried", job_id=job_id, new_job_id=new_id, function=result.function)
    return await get_job(redis, new_id)


async def abort_job(redis: ArqRedis, job_id: str) -> JobView:
    """Take a queued or deferred job out of the queue; it is kept as failed ("aborted").

    Done here rather than with arq's `Job.abort()`, which only flags the job for a running
    worker to cancel (and, for a deferred job, first makes it due at once): this works, and shows
    at once, even while no worker runs."""
    async with redis_answers():
        aborted = await _abort(redis, job_id)
    log.info("job_aborted", job_id=job_id, function=aborted)
    return await get_job(redis, job_id)


async def _abort(redis: ArqRedis, job_id: str) -> str:
    queue_key, in_progress = default_queue_name, in_progress_key_prefix + job_id
    keep_result_ms = int(_worker_setting("keep_result") * 1000)
    for _ in range(5):
        async with redis.pipeline(transaction=True) as pipe:
            # A worker marks a job in progress under a WATCH of the same key, so either it
            # starts the job or we remove it, never both.
            await pipe.watch(in_progress, job_key_prefix + job_id, queue_key)
            score = await pipe.zscore(queue_key, job_id)
            raw = await pipe.get(job_key_prefix + job_id)
            running = await pipe.exists(in_progress)
            if score is None or raw is None or running:
                await pipe.reset()
                await get_job(redis, job_id)  # 404 if unknown
                raise JobNotAbortable()
            definition = deserialize_job(raw, deserializer=safe_loads)
            now = timestamp_ms()
            result = serialize_result(
                definition.function,
                definition.args,
                definition.kwargs,
                definition.job_try or 0,
                int(definition.enqueue_time.timestamp() * 1000),
                False,
                asyncio.CancelledError("aborted by an admin"),
                now,
                now,
                f"{job_id}:{definition.function}",
                queue_key,
                job_id=job_id,
            )
            pipe.multi()
            pipe.zrem(queue_key, job_id)
            pipe.delete(job_key_prefix + job_id, retry_key_prefix + job_id)
            if result is not None:
                pipe.set(result_key_prefix + job_id, result, px=keep_result_ms)
            try:
                await pipe.execute()
            except WatchError:
                continue
        return definition.function
    raise JobNotAbortable(N_("The job changed while aborting it; try again."))


async def heartbeat(redis: ArqRedis, interval_s: float) -> Heartbeat:
    """Each worker writes its report under its own key with a time-to-live of interval + 1 s: the
    remaining ttl tells its age, and a missing key means that worker has not reported for longer.
    The keys are found with SCAN (bounded batches), so many workers never block Redis."""
    keys = [
        key async for key in redis.scan_iter(match=WORKER_HEALTH_PREFIX + "*", count=SCAN_COUNT)
    ]
    names = [
        (key.decode() if isinstance(key, bytes) else key).removeprefix(WORKER_HEALTH_PREFIX)
        for key in keys
    ]
    beats: list[WorkerBeat] = []
    if keys:
        async with redis.pipeline(transaction=False) as pipe:
            for key, name in zip(keys, names, strict=True):
                pipe.get(key)
                pipe.pttl(key)
                pipe.hkeys(job_stats.running_key(name))
            answers = await pipe.execute()
        for name, report, ttl_ms, running in zip(
            names, answers[::3], answers[1::3], answers[2::3], strict=True
        ):
            if report is None:
                continue  # expired between SCAN and GET
            age = max(0.0, (interval_s + 1) - max(ttl_ms, 0) / 1000)
            beats.append(
                WorkerBeat(
                    worker=name,
                    age_seconds=round(age, 1),
                    report=report.decode(),
                    running=sorted(r.decode() if isinstance(r, bytes) else r for r in running),
                )
            )
    if not beats:
        return Heartbeat(seen=False, age_seconds=None, report=None)
    beats.sort(key=lambda beat: (beat.age_seconds, beat.worker))
    return Heartbeat(
        seen=True, age_seconds=beats[0].age_seconds, report=beats[0].report, workers=beats
    )


def _worker_setting(name: str) -> float:
    from app.worker import WorkerSettings  # the worker imports every domain: import late

    return float(getattr(WorkerSettings, name))


def function_names() -> list[str]:
    """The names of the worker's job functions and cron jobs, sorted."""
    from app.worker import WorkerSettings  # the worker imports every domain: import late

    return sorted(
        {f.name for f in WorkerSettings.functions} | {c.name for c in WorkerSettings.cron_jobs}
    )


def health_check_interval() -> float:
    return _worker_setting("health_check_interval")


async def current_heartbeat(redis: ArqRedis) -> Heartbeat:
    """Every live worker's heartbeat (Redis down: 503 redis_unavailable)."""
    async with redis_answers():
        return await heartbeat(redis, health_check_interval())


async def running_jobs(redis: ArqRedis) -> dict[str, JobView]:
    """The jobs workers run now, by id (arq's in-progress markers, their bodies in one read)."""
    return {view.id: view for view in await _in_progress(redis, await _running_ids(redis))}


async def _state_counts(redis: ArqRedis) -> tuple[dict[JobState, int], list[JobView], bool]:
    counts = await _counts(redis, timestamp_ms())
    finished, truncated = await _finished(redis)
    by_state = dict.fromkeys(JobState, 0)
    by_state[JobState.queued] = counts.queued
    by_state[JobState.deferred] = counts.deferred
    by_state[JobState.in_progress] = len(counts.running)
    for job in finished:
        by_state[job.state] += 1
    return by_state, finished, truncated


async def overview(redis: ArqRedis) -> Overview:
    async with redis_answers():
        counts, finished, truncated = await _state_counts(redis)
    return Overview(
        counts=counts,
        queue_depth=counts[JobState.queued] + counts[JobState.deferred],
        heartbeat=await current_heartbeat(redis),
        recent_failures=[job for job in finished if job.state == JobState.failed][:RECENT_FAILURES],
        results_truncated=truncated,
    )


async def collect_metrics(redis: ArqRedis) -> None:
    """Refresh the job gauges of /metrics from Redis (on each scrape). Redis down: the gauges
    keep their last values and `meetup_jobs_redis_up` says 0."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            by_state, jobs, _ = await _state_counts(redis)
            beat = await heartbeat(redis, health_check_interval())
            history = await job_stats.totals(redis)
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("metrics_redis_unavailable", error=repr(exc)[:300])
        metrics.JOBS_REDIS_UP.set(0)
        return
    metrics.JOBS_REDIS_UP.set(1)
    metrics.JOB_HISTORY.set(
        [
            metrics.JobTotals(
                row.function, row.outcomes, job_stats.BUCKETS, row.buckets, row.sum_seconds
            )
            for row in history
        ]
    )
    by_outcome: dict[tuple[str, str], int] = {}
    for job in jobs:
        if job.state in (JobState.complete, JobState.failed):
            key = (job.function, job.state.value)
            by_outcome[key] = by_outcome.get(key, 0) + 1
    for state in (JobState.queued, JobState.deferred, JobState.in_progress):
        metrics.QUEUE_DEPTH.labels(state.value).set(by_state[state])
    metrics.JOB_RESULTS.clear()
    for (function, outcome), count in by_outcome.items():
        metrics.JOB_RESULTS.labels(function, outcome).set(count)
    metrics.WORKER_HEARTBEAT_AGE.set(
        beat.age_seconds if beat.age_seconds is not None else float("inf")
    )
    metrics.WORKERS_ALIVE.set(len(beat.workers))
