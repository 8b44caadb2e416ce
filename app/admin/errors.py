"""The admin domain's errors: each a machine code, its docstring (when it happens, quoted by the
OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import Conflict, ServiceUnavailable, Unprocessable
from app.core.i18n import N_


class JobNotFailed(Conflict):
    """Retrying a job that did not fail."""

    code = "job_not_failed"
    detail = N_("Only a failed job can be retried.")


class JobNotAbortable(Conflict):
    """Aborting a job that is running or finished."""

    code = "job_not_abortable"
    detail = N_("Only a queued or deferred job can be aborted.")


class JobRunning(Conflict):
    """Deleting a job while a worker runs it."""

    code = "job_running"
    detail = N_("A running job cannot be deleted; wait for it to finish.")


class RedisUnavailable(ServiceUnavailable):
    """Redis, where the job queue lives, does not answer (within 3 s)."""

    code = "redis_unavailable"
    detail = N_("Redis, where the job queue lives, does not answer.")


class InvalidDateRange(Unprocessable):
    """`date_from` is after `date_to`, or the period spans more than 366 days."""

    code = "invalid_date_range"
    detail = N_("date_from must not be after date_to.")
