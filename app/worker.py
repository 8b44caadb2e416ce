"""The arq worker: outbox events (notification fan-out, webhook deliveries), reminders and review
invitations, the expiry of undecided bookings, and email delivery.

Jobs take ids, open their own session from `ctx["db"]`, commit at the end and are idempotent.
A cron sweep every minute re-enqueues whatever the database says is due and undelivered, so a lost
enqueue (Redis down at commit time, a killed process) delays work instead of losing it.
"""

from __future__ import annotations

import os
import socket
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings

from app.bookings import tasks as booking_tasks
from app.core.config import get_settings
from app.core.db import Database
from app.core.logging import get_logger
from app.core.redis import redis_settings, worker_health_key
from app.jobs import stats as job_stats
from app.mail import tasks as mail_tasks
from app.mail.sender import Mailer
from app.notifications import tasks as notification_tasks
from app.webhooks import tasks as webhook_tasks

log = get_logger(__name__)

# This process's name in the heartbeat and in the console's list of running jobs.
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    assert settings.database_url, "DATABASE_URL must be set for the worker"
    ctx["settings"] = settings
    ctx["db"] = Database.from_url(settings.database_url, settings)
    # SMTP connections shared by every send_email job of this process, reused across messages.
    ctx["mailer"] = Mailer(settings)
    log.info("worker_started")


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["mailer"].close()
    await ctx["db"].dispose()
    log.info("worker_stopped")


async def sweep(ctx: dict[str, Any]) -> None:
    """The safety net: enqueue everything the database says is due and not yet done."""
    await mail_tasks.enqueue_due_emails(ctx)
    await notification_tasks.sweep(ctx)
    await booking_tasks.sweep(ctx)
    await webhook_tasks.sweep(ctx)


async def on_job_start(ctx: dict[str, Any]) -> None:
    await job_stats.on_job_start(ctx, worker=WORKER_NAME)


async def after_job_end(ctx: dict[str, Any]) -> None:
    """The job history of /admin/jobs/stats and /metrics: one pipelined batch per run."""
    await job_stats.after_job_end(ctx, keep_result_s=WorkerSettings.keep_result, worker=WORKER_NAME)


class WorkerSettings:
    # Tracked: each leaves its outcome, duration and traceback for after_job_end.
    functions: ClassVar[list[Any]] = job_stats.tracked(
        [
            mail_tasks.send_email,
            *notification_tasks.FUNCTIONS,
            *booking_tasks.FUNCTIONS,
            *webhook_tasks.FUNCTIONS,
        ]
    )
    cron_jobs: ClassVar[list[Any]] = [
        cron(
            job_stats.tracked_coroutine("cron:sweep", sweep),
            name="cron:sweep",
            second={0},
            run_at_startup=True,
            unique=True,
        )
    ]
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = on_job_start
    after_job_end = after_job_end
    # Small, so a job killed mid-run is retried soon (arq retries after job_timeout + 10 s).
    job_timeout = 60
    max_tries = 8
    keep_result = 3600
    allow_abort_jobs = True
    # SIGTERM: stop taking jobs and let the running ones finish for up to this long (arq only
    # installs its waiting signal handler when this is set; without it a running job is cancelled
    # mid-way and run again later, so an email could go out twice). Below compose's 30 s grace.
    job_completion_wait = 25
    health_check_interval = 10
    # This process's own report (see app.core.redis.WORKER_HEALTH_PREFIX); `meetup worker --check`
    # and the admin monitor read every worker's.
    health_check_key = worker_health_key(WORKER_NAME)
    # How long arq waits before looking for jobs again, idle or with all `max_jobs` slots busy
    # (its default, 0.5 s, capped a fan-out's emails at about 180/s: slots freed by fast jobs
    # stayed empty until the next poll). One cheap Redis query per poll.
    poll_delay = 0.05

    @staticmethod
    def redis() -> RedisSettings:
        url = get_settings().redis_url
        assert url, "REDIS_URL must be set for the worker"
        return redis_settings(url)
