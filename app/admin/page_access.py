"""What every admin page shares: its templates, the cookie session, the CSRF token of its forms
and the answers to a visitor who may not see it.

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

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.core.db import Tx
from app.core.logging import get_logger
from app.models.users import Role
from app.sessions import cookies
from app.sessions.service import Principal

log = get_logger(__name__)

templates = Jinja2Templates(
    directory=Path(__file__).resolve().parent.parent / "templates" / "admin"
)

COOKIE = "meetup_admin"
CSRF_COOKIE = "meetup_admin_csrf"
CSRF_PURPOSE = "admin-csrf"
COOKIE_PATH = "/admin"
NONCE_SECONDS = 30 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store"}


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=NO_STORE
    )


def nonce(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or ""


def csrf_token(request: Request, principal: Principal | None, value: str | None = None) -> str:
    """The token of this browser's forms (`value`: its CSRF cookie's random value, if just made)."""
    value = nonce(request) if value is None else value
    return cookies.csrf_token(request, CSRF_PURPOSE, value, principal)


def csrf_ok(request: Request, sent: str, principal: Principal | None) -> bool:
    return cookies.csrf_ok(request, sent, CSRF_PURPOSE, nonce(request), principal)


def refused(request: Request, reason: str) -> HTMLResponse:
    return page(request, "refused.html", 403, heading="Not allowed", reason=reason)


def failed(request: Request, heading: str, reason: str, status_code: int) -> HTMLResponse:
    """An action that could not be done, and why."""
    return page(request, "refused.html", status_code, heading=heading, reason=reason)


def forged(request: Request) -> HTMLResponse:
    log.warning("admin_csrf_refused", path=request.url.path)
    return page(
        request,
        "refused.html",
        403,
        heading="Form refused",
        reason="This form has expired or did not come from this site. Reload the page and try "
        "again.",
    )


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=cookies.is_secure(request),
    )


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=NO_STORE)


def back_to(target: str, fallback: str = "/admin") -> str:
    """Where an action returns: a console path it was given, never another site."""
    parts = urlsplit(target)
    inside = parts.path == COOKIE_PATH or parts.path.startswith(COOKIE_PATH + "/")
    if parts.scheme or parts.netloc or not inside or "\\" in target:
        return fallback
    return target


async def principal(request: Request, tx: Tx) -> Principal | None:
    """Who the cookie names, if its session is still live (the bearer-token rules)."""
    return await cookies.principal_of(tx, request.cookies.get(COOKIE))


async def admin_or_refusal(request: Request, tx: Tx) -> Principal | Response:
    """The signed-in admin, or the answer for anyone else: the sign-in page, or 403."""
    who = await principal(request, tx)
    if who is None:
        return redirect("/admin/login")
    if who.user.role != Role.admin:
        return refused(request, "This account is not an administrator.")
    return who


async def refusal_of_post(request: Request, tx: Tx, sent: str) -> Response | None:
    """Why a console form's POST is refused (no admin session, not an admin, a forged form),
    or None: go ahead."""
    who = await admin_or_refusal(request, tx)
    if isinstance(who, Response):
        return who
    if not csrf_ok(request, sent, who):
        return forged(request)
    return None


def with_csrf_cookie(request: Request, response: Response, value: str, fresh: bool) -> Response:
    """Keep (or first set) this browser's CSRF cookie on a page that shows forms."""
    if fresh:
        set_cookie(request, response, CSRF_COOKIE, value, NONCE_SECONDS)
    return response
