"""Root-level HTML pages: /admin/login and /admin (the job monitor, with the webhook deliveries).

Signing in creates an ordinary login session (AuthSession) and keeps its access token in an
httpOnly, SameSite=strict cookie scoped to /admin (Secure under https). Every page checks it like
a bearer token (`sessions.cookies.principal_of`), so logging out, deactivation, a password reset
or a demotion end the page session at once.

Every form carries a CSRF token (`sessions.cookies.csrf_token`), checked before the post does
anything (SameSite=strict alone would leave older browsers, and same-site pages, able to post):
an HMAC of a random value in a second strict, httpOnly cookie, and of the page session once
signed in (the sign-in form's token guards against login CSRF).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlmodel import col

from app.admin import jobs
from app.auth import service as auth_service
from app.core import clock
from app.core.db import Transaction, Tx
from app.core.errors import AppError
from app.core.logging import get_logger
from app.events import DomainEvent
from app.models.mail import EmailMessage, EmailStatus
from app.models.users import Role
from app.notifications.fanout import MAX_ATTEMPTS
from app.sessions import cookies
from app.sessions import service as sessions_service
from app.sessions.dependencies import ClientIP
from app.sessions.service import Principal
from app.webhooks import service as webhooks_service

log = get_logger(__name__)

router = APIRouter(tags=["admin pages"], include_in_schema=False)
templates = Jinja2Templates(
    directory=Path(__file__).resolve().parent.parent / "templates" / "admin"
)

COOKIE = "meetup_admin"
CSRF_COOKIE = "meetup_admin_csrf"
CSRF_PURPOSE = "admin-csrf"
COOKIE_PATH = "/admin"
REFRESH_SECONDS = 10
NONCE_SECONDS = 30 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store"}


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=NO_STORE
    )


def _nonce(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or ""


def _csrf_token(request: Request, principal: Principal | None, nonce: str | None = None) -> str:
    nonce = _nonce(request) if nonce is None else nonce
    return cookies.csrf_token(request, CSRF_PURPOSE, nonce, principal)


def _csrf_ok(request: Request, sent: str, principal: Principal | None) -> bool:
    return cookies.csrf_ok(request, sent, CSRF_PURPOSE, _nonce(request), principal)


def _login_page(
    request: Request,
    *,
    nonce: str,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = _csrf_token(request, None, nonce)
    return _page(request, "login.html", status_code, error=error, email=email, csrf_token=token)


def _refused(request: Request, reason: str) -> HTMLResponse:
    return _page(request, "refused.html", 403, heading="Not allowed", reason=reason)


def _forged(request: Request) -> HTMLResponse:
    log.warning("admin_csrf_refused", path=request.url.path)
    return _page(
        request,
        "refused.html",
        403,
        heading="Form refused",
        reason="This form has expired or did not come from this site. Reload the page and try "
        "again.",
    )


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=cookies.is_secure(request),
    )


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=NO_STORE)


async def _principal(request: Request, tx: Tx) -> Principal | None:
    """Who the cookie names, if its session is still live (the bearer-token rules)."""
    return await cookies.principal_of(tx, request.cookies.get(COOKIE))


@router.get("/admin/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    """The sign-in form; its CSRF token fits the random value of this browser's CSRF cookie."""
    nonce, fresh = cookies.nonce_of(request, CSRF_COOKIE)
    response = _login_page(request, nonce=nonce)
    if fresh:
        _set_cookie(request, response, CSRF_COOKIE, nonce, NONCE_SECONDS)
    return response


@router.post("/admin/login", response_class=HTMLResponse)
async def login(
    request: Request,
    tx: Transaction,
    ip: ClientIP,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Sign an admin in: the session cookie, then the monitor; anyone else is refused."""
    if not _csrf_ok(request, csrf_token, None):
        return _forged(request)
    nonce = _nonce(request)
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
        return _refused(request, "This account is not an administrator.")
    response = _to("/admin")
    _set_cookie(request, response, COOKIE, pair.access_token, pair.expires_in)
    log.info("admin_login", user_id=str(principal.user.id))
    return response


@router.post("/admin/logout")
async def logout(
    request: Request,
    tx: Transaction,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """End the page session (its AuthSession is revoked) and forget the cookie."""
    principal = await _principal(request, tx)
    if principal is not None:
        if not _csrf_ok(request, csrf_token, principal):
            return _forged(request)
        await sessions_service.logout(tx, principal, refresh_token=None)
    response = _to("/admin/login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


async def _failed_emails(tx: Tx) -> list[EmailMessage]:
    return list(
        (
            await tx.session.scalars(
                select(EmailMessage)
                .where(col(EmailMessage.status) == EmailStatus.failed)
                .order_by(col(EmailMessage.updated_at).desc())
                .limit(10)
            )
        ).all()
    )


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


@router.get("/admin", response_class=HTMLResponse)
async def monitor(
    request: Request,
    tx: Transaction,
    retried: str | None = None,
    redelivered: uuid.UUID | None = None,
) -> Response:
    """The job monitor: counts per state, queue depth, worker heartbeat, recent failures, and
    the recent webhook deliveries."""
    principal = await _principal(request, tx)
    if principal is None:
        return _to("/admin/login")
    if principal.user.role != Role.admin:
        return _refused(request, "This account is not an administrator.")
    overview, problem = None, None
    try:
        overview = await jobs.overview(request.app.state.redis)
    except AppError as exc:
        problem = exc.detail
    nonce, fresh = cookies.nonce_of(request, CSRF_COOKIE)
    response = _page(
        request,
        "monitor.html",
        admin=principal.user,
        overview=overview,
        problem=problem,
        message=(
            f"Re-enqueued as {retried}."
            if retried
            else f"Delivery {redelivered} will be sent again now."
            if redelivered
            else None
        ),
        failed_emails=await _failed_emails(tx),
        stuck_events=await _stuck_events(tx),
        webhook_deliveries=await webhooks_service.recent_deliveries(tx.session),
        max_event_attempts=MAX_ATTEMPTS,
        csrf_token=_csrf_token(request, principal, nonce),
        refresh_seconds=REFRESH_SECONDS,
        heartbeat_window=int(jobs.health_check_interval()) + 1,
        now=clock.now().strftime("%Y-%m-%d %H:%M:%S"),
    )
    if fresh:
        _set_cookie(request, response, CSRF_COOKIE, nonce, NONCE_SECONDS)
    return response


async def _refusal_of_button(request: Request, tx: Tx, csrf_token: str) -> Response | None:
    """Why a monitor button's POST is refused (no admin session, not an admin, a forged form),
    or None: go ahead."""
    principal = await _principal(request, tx)
    if principal is None:
        return _to("/admin/login")
    if principal.user.role != Role.admin:
        return _refused(request, "This account is not an administrator.")
    if not _csrf_ok(request, csrf_token, principal):
        return _forged(request)
    return None


@router.post("/admin/jobs/{job_id}/retry")
async def retry(
    request: Request,
    tx: Transaction,
    job_id: str,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The retry button of a failed job."""
    refusal = await _refusal_of_button(request, tx, csrf_token)
    if refusal is not None:
        return refusal
    try:
        job = await jobs.retry_job(request.app.state.redis, job_id)
    except AppError as exc:
        return _page(
            request,
            "refused.html",
            exc.status_code,
            heading="Could not retry",
            reason=f"{job_id}: {exc.detail}",
        )
    return _to(f"/admin?{urlencode({'retried': job.id})}")


@router.post("/admin/webhook-deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request,
    tx: Transaction,
    delivery_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The redeliver button of a webhook delivery."""
    refusal = await _refusal_of_button(request, tx, csrf_token)
    if refusal is not None:
        return refusal
    try:
        delivery = await webhooks_service.redeliver(tx, delivery_id)
    except AppError as exc:
        return _page(
            request,
            "refused.html",
            exc.status_code,
            heading="Could not redeliver",
            reason=f"{delivery_id}: {exc.detail}",
        )
    return _to(f"/admin?{urlencode({'redelivered': str(delivery.id)})}")
