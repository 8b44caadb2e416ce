"""/api/v1/admin: account management, the analytics report and the background jobs."""

from __future__ import annotations

import uuid
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.admin import analytics, jobs
from app.admin.analytics import AnalyticsReport
from app.admin.errors import (
    InvalidDateRange,
    JobNotAbortable,
    JobNotFailed,
    JobRunning,
    RedisUnavailable,
)
from app.admin.jobs import JobDetail, JobState, JobView
from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated, NotFound, errors
from app.core.pagination import Page, Pagination
from app.core.validation import BoundedDate
from app.jobs import stats as job_stats
from app.jobs.stats import JobStats, StatsWindow
from app.sessions.dependencies import AdminUser
from app.users import service as users_service
from app.users.schemas import AdminUserUpdate, UserAdminView

router = APIRouter(prefix="/admin", tags=["admin"])


async def _redis(request: Request) -> ArqRedis:
    redis: ArqRedis = request.app.state.redis
    return redis


Redis = Annotated[ArqRedis, Depends(_redis)]
JobId = Annotated[str, Path(max_length=300, description="The arq job id")]


@router.patch(
    "/users/{user_id}",
    response_model=UserAdminView,
    responses=errors(NotAuthenticated, Forbidden, NotFound),
)
async def admin_update_user(
    user_id: uuid.UUID, body: AdminUserUpdate, _: AdminUser, tx: Transaction
) -> UserAdminView:
    """Change a user's role or (de)activate them; a deactivated user's tokens stop working."""
    return UserAdminView.of(await users_service.admin_update_user(tx, user_id, body))


@router.get(
    "/analytics",
    response_model=AnalyticsReport,
    responses=errors(NotAuthenticated, Forbidden, InvalidDateRange),
)
async def get_analytics(
    _: AdminUser,
    tx: Transaction,
    date_from: Annotated[
        BoundedDate | None,
        Query(description="First UTC day of the period (default: 29 days before date_to)"),
    ] = None,
    date_to: Annotated[
        BoundedDate | None,
        Query(description="Last UTC day of the period, inclusive (default: today)"),
    ] = None,
) -> AnalyticsReport:
    """Report: users, announcements and bookings by status, fill rate, notifications, top movies and hosts, per-day series."""
    return await analytics.report(tx.session, date_from=date_from, date_to=date_to)


@router.get(
    "/jobs",
    response_model=Page[JobView],
    responses=errors(NotAuthenticated, Forbidden, RedisUnavailable),
)
async def list_jobs(
    _: AdminUser,
    redis: Redis,
    page: Pagination,
    state: Annotated[JobState | None, Query(description="Only jobs in this state")] = None,
) -> Page[JobView]:
    """Background jobs read from Redis: waiting ones soonest first, finished ones newest first."""
    found, total = await jobs.list_jobs(redis, state, page.offset, page.limit)
    return Page(
        items=found,
        total=total,
        **page.model_dump(),
    )


@router.get(
    "/jobs/stats",
    response_model=JobStats,
    responses=errors(NotAuthenticated, Forbidden, RedisUnavailable),
)
async def get_job_stats(
    _: AdminUser,
    redis: Redis,
    window: Annotated[
        StatsWindow, Query(description="1h: per minute; 24h: per 5 minutes; 7d: per hour")
    ] = StatsWindow.hour,
    function: Annotated[
        str | None, Query(max_length=200, description="Only this job function")
    ] = None,
) -> JobStats:
    """Completed, failed and retried runs and p50/p95 durations per function over a window, from the worker's own history (it outlives arq's results); the queue's depth and its oldest due job's wait."""
    async with jobs.redis_answers():
        return await job_stats.stats(redis, window, function)


@router.get(
    "/jobs/{job_id}",
    response_model=JobDetail,
    responses=errors(NotAuthenticated, Forbidden, NotFound, RedisUnavailable),
)
async def get_job(job_id: JobId, _: AdminUser, redis: Redis) -> JobDetail:
    """One job: function, arguments, state, tries, times, result or error with its traceback."""
    return await jobs.get_job(redis, job_id)


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    responses=errors(NotAuthenticated, Forbidden, NotFound, JobRunning, RedisUnavailable),
)
async def delete_job(job_id: JobId, _: AdminUser, redis: Redis) -> Response:
    """Remove a queued, deferred or finished job and its result (a running one: 409)."""
    await jobs.delete_job(redis, job_id)
    return Response(status_code=204)


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=JobView,
    responses=errors(NotAuthenticated, Forbidden, NotFound, JobNotFailed, RedisUnavailable),
)
async def retry_job(job_id: JobId, _: AdminUser, redis: Redis) -> JobView:
    """Enqueue a failed job again (same function and arguments, new id)."""
    return await jobs.retry_job(redis, job_id)


@router.post(
    "/jobs/{job_id}/abort",
    response_model=JobView,
    responses=errors(NotAuthenticated, Forbidden, NotFound, JobNotAbortable, RedisUnavailable),
)
async def abort_job(job_id: JobId, _: AdminUser, redis: Redis) -> JobView:
    """Take a queued or deferred job out of the queue."""
    return await jobs.abort_job(redis, job_id)
