"""The console's lists and actions: jobs by state (filtered by function, searched by id or
meetup), one job's page, webhook deliveries, emails that could not be delivered, and the buttons
that retry, abort, delete, redeliver or send again: each a POST with the page's CSRF token that
redirects back with what was done (?done=...). Every list is paginated."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.admin import jobs
from app.admin import page_access as access
from app.admin.jobs import JobFilter, JobState
from app.admin.pages import done_message
from app.core import pagination
from app.core.db import Transaction
from app.core.errors import AppError
from app.mail import service as mail_service
from app.models.webhooks import DeliveryStatus
from app.sessions import cookies
from app.sessions.service import Principal
from app.webhooks import service as webhooks_service

router = APIRouter(tags=["admin pages"], include_in_schema=False)

PAGE_SIZE = 25
SEARCH_LIMIT = 200
CsrfToken = Annotated[str, Form(max_length=128)]
NextUrl = Annotated[str, Form(max_length=2000)]


@dataclass(frozen=True)
class Pager:
    number: int
    total: int
    base: str  # the list's path and filters, without the page number

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def link(self, number: int) -> str:
        return f"{self.base}{'&' if '?' in self.base else '?'}page_number={number}"


def _list_url(path: str, **filters: str) -> str:
    kept = {key: value for key, value in filters.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def _done(target: str, done: str, item: str) -> str:
    """`target` (a console URL) with what was just done in its query."""
    parts = urlsplit(access.back_to(target))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "id")]
    return f"{parts.path}?{urlencode([*query, ('done', done), ('id', item)])}"


async def _signed_in_page(
    request: Request, tx: Transaction, render: Callable[[Principal, str], Awaitable[Response]]
) -> Response:
    """A console page for the signed-in admin, with its forms' CSRF token (and cookie)."""
    principal = await access.admin_or_refusal(request, tx)
    if isinstance(principal, Response):
        return principal
    nonce, fresh = cookies.nonce_of(request, access.CSRF_COOKIE)
    response = await render(principal, access.csrf_token(request, principal, nonce))
    return access.with_csrf_cookie(request, response, nonce, fresh)


# --- jobs ----------------------------------------------------------------------------------------


@router.get("/admin/jobs", response_class=HTMLResponse)
async def job_list(
    request: Request,
    tx: Transaction,
    state: str = "",
    function: str = "",
    q: str = "",
    page_number: str = "1",
    done: str | None = None,
    id: str | None = None,
) -> Response:
    """Jobs in one state (or all), soonest due first for waiting ones and latest first for
    finished ones; filtered by function and searched by id or meetup."""
    chosen = JobState(state) if state in set(JobState) else None
    known = jobs.function_names()
    where = JobFilter(
        state=chosen,
        function=function if function in known else None,
        text=q.strip()[:SEARCH_LIMIT] or None,
    )

    def state_link(state: JobState | None) -> str:
        return _list_url(
            "/admin/jobs",
            state=state.value if state else "",
            function=where.function or "",
            q=where.text or "",
        )

    async def render(principal: Principal, csrf_token: str) -> Response:
        number = pagination.page_number(page_number)
        found, problem = None, None
        try:
            found = await jobs.find_jobs(
                request.app.state.redis, where, (number - 1) * PAGE_SIZE, PAGE_SIZE
            )
        except AppError as exc:
            problem = exc.detail
        return access.page(
            request,
            "jobs.html",
            admin=principal.user,
            section="jobs",
            where=where,
            states=list(JobState),
            functions=known,
            found=found,
            problem=problem,
            message=done_message(done, id),
            pager=Pager(number, found.total if found else 0, state_link(chosen)),
            state_link=state_link,
            scan_cap=jobs.SCAN_CAP,
            csrf_token=csrf_token,
            next_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        )

    return await _signed_in_page(request, tx, render)


@router.get("/admin/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(
    request: Request,
    tx: Transaction,
    job_id: str,
    done: str | None = None,
    id: str | None = None,
) -> Response:
    """One job: function, arguments, state, tries, timings, result or error and traceback, and
    the buttons that fit its state."""

    async def render(principal: Principal, csrf_token: str) -> Response:
        try:
            job = await jobs.get_job(request.app.state.redis, job_id[:300])
        except AppError as exc:
            return access.failed(request, "No such job", f"{job_id}: {exc.detail}", exc.status_code)
        return access.page(
            request,
            "job.html",
            admin=principal.user,
            section="jobs",
            job=job,
            message=done_message(done, id),
            csrf_token=csrf_token,
            next_url=f"/admin/jobs/{job.id}",
        )

    return await _signed_in_page(request, tx, render)


async def _job_action(
    request: Request,
    tx: Transaction,
    csrf_token: str,
    job_id: str,
    heading: str,
    act: Callable[[], Awaitable[str]],
    done: str,
    next_url: str,
) -> Response:
    refusal = await access.refusal_of_post(request, tx, csrf_token)
    if refusal is not None:
        return refusal
    try:
        item = await act()
    except AppError as exc:
        return access.failed(request, heading, f"{job_id}: {exc.detail}", exc.status_code)
    return access.redirect(_done(next_url, done, item))


@router.post("/admin/jobs/{job_id}/retry")
async def retry(
    request: Request,
    tx: Transaction,
    job_id: str,
    csrf_token: CsrfToken = "",
    next: NextUrl = "/admin",
) -> Response:
    """Enqueue a failed job again (same function and arguments, a new id)."""

    async def act() -> str:
        return (await jobs.retry_job(request.app.state.redis, job_id)).id

    return await _job_action(
        request, tx, csrf_token, job_id, "Could not retry", act, "retried", next
    )


@router.post("/admin/jobs/{job_id}/abort")
async def abort(
    request: Request,
    tx: Transaction,
    job_id: str,
    csrf_token: CsrfToken = "",
    next: NextUrl = "/admin",
) -> Response:
    """Take a queued or deferred job out of the queue (kept as failed: aborted)."""

    async def act() -> str:
        return (await jobs.abort_job(request.app.state.redis, job_id)).id

    return await _job_action(
        request, tx, csrf_token, job_id, "Could not abort", act, "aborted", next
    )


@router.post("/admin/jobs/{job_id}/delete")
async def delete(
    request: Request,
    tx: Transaction,
    job_id: str,
    csrf_token: CsrfToken = "",
    next: NextUrl = "/admin/jobs",
) -> Response:
    """Remove a job that is not running, with its result and traceback."""

    async def act() -> str:
        await jobs.delete_job(request.app.state.redis, job_id)
        return job_id

    return await _job_action(
        request, tx, csrf_token, job_id, "Could not delete", act, "deleted", next
    )


# --- webhook deliveries and emails ---------------------------------------------------------------


@router.get("/admin/deliveries", response_class=HTMLResponse)
async def delivery_list(
    request: Request,
    tx: Transaction,
    status: str = "",
    page_number: str = "1",
    done: str | None = None,
    id: str | None = None,
) -> Response:
    """Every endpoint's webhook deliveries, newest first, by status."""
    chosen = DeliveryStatus(status) if status in set(DeliveryStatus) else None

    async def render(principal: Principal, csrf_token: str) -> Response:
        number = pagination.page_number(page_number)
        rows, total = await webhooks_service.recent_deliveries(
            tx.session, status=chosen, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return access.page(
            request,
            "deliveries.html",
            admin=principal.user,
            section="deliveries",
            deliveries=rows,
            status=chosen,
            statuses=list(DeliveryStatus),
            pager=Pager(
                number, total, _list_url("/admin/deliveries", status=status if chosen else "")
            ),
            message=done_message(done, id),
            csrf_token=csrf_token,
            next_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        )

    return await _signed_in_page(request, tx, render)


@router.post("/admin/webhook-deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request,
    tx: Transaction,
    delivery_id: uuid.UUID,
    csrf_token: CsrfToken = "",
    next: NextUrl = "/admin/deliveries",
) -> Response:
    """Send a webhook delivery again now, with a fresh retry schedule."""
    refusal = await access.refusal_of_post(request, tx, csrf_token)
    if refusal is not None:
        return refusal
    try:
        delivery = await webhooks_service.redeliver(tx, delivery_id)
    except AppError as exc:
        return access.failed(
            request, "Could not redeliver", f"{delivery_id}: {exc.detail}", exc.status_code
        )
    return access.redirect(_done(next, "redelivered", str(delivery.id)))


@router.get("/admin/emails", response_class=HTMLResponse)
async def email_list(
    request: Request,
    tx: Transaction,
    page_number: str = "1",
    done: str | None = None,
    id: str | None = None,
) -> Response:
    """Emails that failed for good (every attempt refused or failed), latest first."""

    async def render(principal: Principal, csrf_token: str) -> Response:
        number = pagination.page_number(page_number)
        emails, total = await mail_service.failed_emails(
            tx.session, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return access.page(
            request,
            "emails.html",
            admin=principal.user,
            section="emails",
            emails=emails,
            pager=Pager(number, total, "/admin/emails"),
            message=done_message(done, id),
            csrf_token=csrf_token,
            next_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        )

    return await _signed_in_page(request, tx, render)


@router.post("/admin/emails/{email_id}/resend")
async def resend(
    request: Request,
    tx: Transaction,
    email_id: uuid.UUID,
    csrf_token: CsrfToken = "",
    next: NextUrl = "/admin/emails",
) -> Response:
    """Send an email that failed for good again, with a fresh count of attempts."""
    refusal = await access.refusal_of_post(request, tx, csrf_token)
    if refusal is not None:
        return refusal
    try:
        email = await mail_service.resend(tx, email_id)
    except AppError as exc:
        return access.failed(
            request, "Could not send again", f"{email_id}: {exc.detail}", exc.status_code
        )
    return access.redirect(_done(next, "resent", str(email.id)))
