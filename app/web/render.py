"""Jinja2 pages with gettext (jinja2.ext.i18n) in the visitor's language, and the responses that
carry the web cookies (session, CSRF value, language)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from pydantic import ValidationError

from app.core import i18n
from app.core.errors import AppError
from app.core.security_headers import PAGE_CSP
from app.sessions.cookies import is_secure
from app.web.session import COOKIE, CSRF_COOKIE, LANG_COOKIE, YEAR, Visitor

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"

# Pages load their own script and styles only (htmx adds inline styles: its indicator).
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_CSP}


@lru_cache(maxsize=4096)
def _formatted(moment: datetime, zone: str, form: str, lang: str) -> str:
    """Babel's formatting is the costliest part of a list page, and the same upcoming meetups
    are shown again and again: remembered per moment, zone, form and language."""
    try:
        tzinfo = ZoneInfo(zone)
    except (KeyError, ValueError):
        tzinfo = ZoneInfo("UTC")
    return str(format_datetime(moment, form, tzinfo=tzinfo, locale=i18n.babel_locale(lang)))


@pass_context
def _when(
    context: Context, moment: datetime | None, zone: str = "UTC", form: str = "medium"
) -> str:
    """A moment in a time zone (the meetup's), in the page's language."""
    if moment is None:
        return ""
    return _formatted(moment, zone, form, str(context.get("lang") or i18n.DEFAULT))


@pass_context
def _number(context: Context, value: Any) -> str:
    if value is None:
        return ""
    lang = str(context.get("lang") or i18n.DEFAULT)
    return str(format_decimal(value, locale=i18n.babel_locale(lang)))


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates change only with a deploy (a restart): no stat() of each template per render.
    auto_reload=False,
)
environment.filters["when"] = _when
environment.filters["number"] = _number


def render_text(lang: str, template: str, context: dict[str, Any]) -> str:
    """Render in `lang`. Installing the catalog and rendering happen with no await in between,
    so concurrent requests in other languages cannot interleave."""
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(lang), newstyle=True
    )
    return environment.get_template(template).render(context)


def with_cookies(visit: Visitor, response: Response) -> Response:
    secure = is_secure(visit.request)
    if visit.set_nonce:
        response.set_cookie(
            CSRF_COOKIE, visit.nonce, max_age=YEAR, httponly=True, samesite="lax", secure=secure
        )
        visit.set_nonce = False
    if visit.set_lang:
        response.set_cookie(LANG_COOKIE, visit.lang, max_age=YEAR, samesite="lax", secure=secure)
    return response


def set_session(visit: Visitor, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_secure(visit.request),
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, httponly=True, samesite="lax")


def page(visit: Visitor, template: str, status_code: int = 200, **context: Any) -> Response:
    request = visit.request
    base = {
        "request": request,
        "visit": visit,
        "user": visit.user,
        "lang": visit.lang,
        "csrf_token": visit.csrf_token(),
        "path": request.url.path,
        "htmx": request.headers.get("hx-request") == "true",
    }
    html = render_text(visit.lang, template, {**base, **context})
    return with_cookies(visit, HTMLResponse(html, status_code=status_code, headers=HEADERS))


def redirect(visit: Visitor, path: str) -> Response:
    return with_cookies(visit, RedirectResponse(path, status_code=303, headers=HEADERS))


def refused(visit: Visitor) -> Response:
    """A post without its CSRF token, or with one of another browser or session."""
    return page(visit, "refused.html", 403)


def not_found(visit: Visitor, reason: str | None = None) -> Response:
    return page(visit, "refused.html", 404, heading="not_found", reason=reason)


def problem(visit: Visitor, exc: AppError) -> Response:
    """What a service refused, with its status, in the page's language."""
    return page(visit, "refused.html", exc.status_code, reason=visit.error_text(exc))


def invalid(visit: Visitor, exc: ValidationError) -> Response:
    return page(visit, "refused.html", 422, reason=validation_message(exc))


def form_again(
    visit: Visitor, template: str, exc: AppError | ValidationError, **context: Any
) -> Response:
    """A form's page again, as it was sent, with what was wrong (`error`): 422 and the fields'
    complaints for invalid input, else the service's status and message."""
    if isinstance(exc, ValidationError):
        return page(visit, template, 422, error=validation_message(exc), **context)
    return page(visit, template, exc.status_code, error=visit.error_text(exc), **context)


def validation_message(exc: ValidationError) -> str:
    """A short, readable summary of a request model's complaints."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def safe_next(value: str, fallback: str) -> str:
    """`value` if it is a path of this site (not //host, not a scheme), else `fallback`."""
    return value if value.startswith("/") and not value.startswith("//") else fallback


def sign_in_first(visit: Visitor, back: str | None = None) -> Response:
    """To the sign-in page, which comes back to `back` (default: the page asked for)."""
    return redirect(visit, "/login?" + urlencode({"next": back or visit.request.url.path}))
