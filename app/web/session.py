"""Who is browsing: the session cookie, the CSRF token of every form, and the page language.

The session cookie (`sessions.cookies`: an access token bound to an AuthSession, checked like a
bearer token) is httpOnly, SameSite=Lax (links from other sites arrive signed in; their posts do
not) and Secure under https. Every form carries a CSRF token that fits this browser's CSRF cookie
and its session (`sessions.cookies.csrf_token`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlmodel import col

from app.core import i18n, security
from app.core.db import Transaction, Tx
from app.core.errors import AppError
from app.models.notifications import Notification
from app.models.users import User
from app.sessions import cookies
from app.sessions.service import Principal

COOKIE = "meetup_session"
CSRF_COOKIE = "meetup_csrf"
CSRF_PURPOSE = "web-csrf"
LANG_COOKIE = "lang"
SESSION_DAYS = 14
YEAR = 365 * 24 * 3600


@dataclass
class Visitor:
    """The browser behind a request: its session (if signed in), CSRF value and language."""

    request: Request
    principal: Principal | None
    nonce: str
    lang: str
    unread: int = 0
    set_nonce: bool = False
    set_lang: bool = False
    cookies: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def user(self) -> User | None:
        return self.principal.user if self.principal else None

    def error_text(self, error: AppError) -> str:
        """What a service refused, in the page's language (as the API's `detail` is)."""
        return error.translated(self.lang)

    def csrf_token(self) -> str:
        return cookies.csrf_token(self.request, CSRF_PURPOSE, self.nonce, self.principal)

    def csrf_ok(self, sent: str) -> bool:
        """The token fits this browser's CSRF cookie (it must have had one) and session."""
        if self.set_nonce:
            return False
        return cookies.csrf_ok(self.request, sent, CSRF_PURPOSE, self.nonce, self.principal)


def _language(request: Request, user: User | None) -> tuple[str, bool]:
    """The page language and whether `?lang=` chose it (then the cookie remembers it)."""
    asked = request.query_params.get("lang")
    if asked in i18n.SUPPORTED:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in i18n.SUPPORTED:
        return cookie, False
    locale = getattr(user, "locale", None)
    if isinstance(locale, str) and locale:
        return i18n.normalize(locale), False
    return i18n.negotiate(request.headers.get("accept-language")), False


async def unread_count(tx: Tx, user: User) -> int:
    count = await tx.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
    )
    return int(count or 0)


async def _visitor(request: Request, tx: Transaction) -> Visitor:
    principal = await cookies.principal_of(tx, request.cookies.get(COOKIE))
    nonce, fresh = cookies.nonce_of(request, CSRF_COOKIE)
    lang, chosen = _language(request, principal.user if principal else None)
    visitor = Visitor(request, principal, nonce, lang, set_nonce=fresh, set_lang=chosen)
    if principal is not None:
        visitor.unread = await unread_count(tx, principal.user)
    return visitor


Visit = Annotated[Visitor, Depends(_visitor)]


def session_token(principal: Principal) -> tuple[str, int]:
    """A long-lived access token for the page session (the AuthSession bounds it anyway)."""
    lifetime = timedelta(days=SESSION_DAYS)
    token, _ = security.issue_token(
        "access",
        user_id=principal.user.id,
        session_id=principal.session_id,
        lifetime=lifetime,
    )
    return token, int(lifetime.total_seconds())
