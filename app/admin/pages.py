"""The console's sign-in and its overview: /admin/login, /admin/logout, /admin and the live
panel /admin/live that the overview reloads every few seconds (htmx; a plain refresh without
JavaScript). The job lists, a job's page and the delivery lists are in app/admin/console.py; the
cookie session and CSRF rules in app/admin/page_access.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlmodel import col

from app.admin import chart, jobs
from app.admin import page_access as access
from app.auth import service as auth_service
from app.core import clock
from app.core.db import Transaction, Tx
from app.core.errors import AppError
from app.core.logging import get_logger
from app.events import DomainEvent
from app.jobs import stats as job_stats
from app.jobs.stats import StatsWindow
from app.mail import service as mail_service
from app.models.users import Role
from app.notifications.fanout import MAX_ATTEMPTS
from app.sessions import cookies
from app.sessions import service as sessions_service
from app.sessions.dependencies import ClientIP
from app.sessions.service import Principal
from app.webhooks import service as webhooks_service

log = get_logger(__name__)

router = APIRouter(tags=["admin pages"], include_in_schema=False)

REFRESH_SECONDS = 10
PREVIEW = 5  # rows of each list shown on the overview
CHART_WINDOWS = (StatsWindow.hour, StatsWindow.day)
# What an action's redirect reports (?done=<code>&id=<its job or delivery>).
DONE = {
    "retried": "Re-enqueued as {id}.",
    "aborted": "Job {id} was taken out of the queue.",
    "deleted": "Job {id} was deleted.",
    "redelivered": "Delivery {id} will be sent again now.",
    "resent": "Email {id} will be sent again now.",
}


def done_message(done: str | None, item: str | None) -> str | None:
    template = DONE.get(done or "")
    return template.format(id=item or "") if template else None


def _login_page(
    request: Request,
    *,
    nonce: str,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = access.csrf_token(request, None, nonce)
    return access.page(
        request, "login.html", status_code, error=error, email=email, csrf_token=token
    )


@router.get("/admin/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The sign-in form; its CSRF token fits the random value of this browser's CSRF cookie."""
    nonce, fresh = cookies.nonce_of(request, access.CSRF_COOKIE)
    return access.with_csrf_cookie(request, _login_page(request, nonce=nonce), nonce, fresh)


@router.post("/admin/login", response_class=HTMLResponse)
async def login(
    request: Request,
    tx: Transaction,
    ip: ClientIP,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Sign an admin in: the session cookie, then the console; anyone else is refused."""
    if not access.csrf_ok(request, csrf_token, None):
        return access.forged(request)
    nonce = access.nonce(request)
    if not email or not password:
        return _login_page(
            request,
            nonce=nonce,
            error="Enter your email and password.",
            email=email,
            status_code=422,
        )
    try:
        # The API's own sign-in: the same password check, rate limits and account rules.
        pair = await auth_service.login(tx, email=email, password=password, ip=ip)
    except AppError as exc:
        response: Response = _login_page(
            request, nonce=nonce, error=exc.detail, email=email, status_code=exc.status_code
        )
        if "Retry-After" in exc.headers:
            response.headers["Retry-After"] = exc.headers["Retry-After"]
        return response
    principal = await cookies.principal_of(tx, pair.access_token)
    if principal is None or principal.user.role != Role.admin:
        await tx.session.rollback()  # keep no session for a refused sign-in
        log.warning("admin_login_refused", reason="not_admin")
        return access.refused(request, "This account is not an administrator.")
    response = access.redirect("/admin")
    access.set_cookie(request, response, access.COOKIE, pair.access_token, pair.expires_in)
    log.info("admin_login", user_id=str(principal.user.id))
    return response


@router.post("/admin/logout")
async def logout(
    request: Request,
    tx: Transaction,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """End the page session (its AuthSession is revoked) and forget the cookie."""
    principal = await access.principal(request, tx)
    if principal is not None:
        if not access.csrf_ok(request, csrf_token, principal):
            return access.forged(request)
        await sessions_service.logout(tx, principal, refresh_token=None)
    response = access.redirect("/admin/login")
    response.delete_cookie(access.COOKIE, path=access.COOKIE_PATH, httponly=True, samesite="strict")
    return response


async def _stuck_events(tx: Tx) -> list[DomainEvent]:
    """Outbox events that failed and are not processed yet (the sweep retries them every minute
    until MAX_ATTEMPTS, then leaves them here for a person)."""
    return list(
        (
            await tx.session.scalars(
                select(DomainEvent)
                .where(col(DomainEvent.processed_at).is_(None), col(DomainEvent.attempts) > 0)
                .order_by(col(DomainEvent.created_at).desc())
                .limit(10)
            )
        ).all()
    )


def _window(value: str | None) -> StatsWindow:
    return StatsWindow.day if value == StatsWindow.day.value else StatsWindow.hour


async def _live(request: Request, window: StatsWindow) -> dict[str, object]:
    """What the live panel shows: throughput chart, queue, workers and what each runs. Redis
    down: `problem` says so and the rest is empty."""
    redis = request.app.state.redis
    always = {
        "window": window,
        "windows": CHART_WINDOWS,
        "refresh_seconds": REFRESH_SECONDS,
        "now": clock.now().strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        async with jobs.redis_answers():
            stats = await job_stats.stats(redis, window, None)
            running = await jobs.running_jobs(redis)
        beat = await jobs.current_heartbeat(redis)
    except AppError as exc:
        return {**always, "problem": exc.detail}
    return {
        **always,
        "problem": None,
        "stats": stats,
        "chart": chart.chart(stats),
        "heartbeat": beat,
        "running": running,
        "unassigned": sorted(
            set(running) - {job_id for worker in beat.workers for job_id in worker.running}
        ),
        "heartbeat_window": int(jobs.health_check_interval()) + 1,
    }


@router.get("/admin", response_class=HTMLResponse)
async def overview(
    request: Request,
    tx: Transaction,
    window: str | None = None,
    done: str | None = None,
    id: str | None = None,
) -> Response:
    """The console's front page: the live panel (throughput chart, queue, workers), counts per
    state, the latest failures, the soonest scheduled jobs, events that keep failing, webhook
    deliveries and emails that could not be delivered, each with a link to its full list."""
    principal = await access.admin_or_refusal(request, tx)
    if isinstance(principal, Response):
        return principal
    chosen = _window(window)
    summary, problem = None, None
    scheduled: list[jobs.JobView] = []
    try:
        summary = await jobs.overview(request.app.state.redis)
        scheduled, _ = await jobs.list_jobs(
            request.app.state.redis, jobs.JobState.deferred, 0, PREVIEW
        )
    except AppError as exc:
        problem = exc.detail
    deliveries, deliveries_total = await webhooks_service.recent_deliveries(
        tx.session, limit=PREVIEW
    )
    emails, emails_total = await mail_service.failed_emails(tx.session, limit=PREVIEW)
    nonce, fresh = cookies.nonce_of(request, access.CSRF_COOKIE)
    response = access.page(
        request,
        "overview.html",
        admin=principal.user,
        section="overview",
        overview=summary,
        problem=problem,
        message=done_message(done, id),
        live=await _live(request, chosen),
        scheduled=scheduled,
        failures=summary.recent_failures[:PREVIEW] if summary else [],
        stuck_events=await _stuck_events(tx),
        webhook_deliveries=deliveries,
        deliveries_total=deliveries_total,
        failed_emails=emails,
        emails_total=emails_total,
        max_event_attempts=MAX_ATTEMPTS,
        scan_cap=jobs.SCAN_CAP,
        csrf_token=access.csrf_token(request, principal, nonce),
        next_url=str(request.url.path),
    )
    return access.with_csrf_cookie(request, response, nonce, fresh)


@router.get("/admin/live", response_class=HTMLResponse)
async def live(request: Request, tx: Transaction, window: str | None = None) -> Response:
    """The live panel alone, for htmx to swap in every REFRESH_SECONDS. A session that ended
    sends the whole page to the sign-in form (HX-Redirect) instead of swapping it in."""
    principal: Principal | Response = await access.admin_or_refusal(request, tx)
    if isinstance(principal, Response):
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": "/admin/login"})
        return principal
    return access.page(request, "_live.html", live=await _live(request, _window(window)))
