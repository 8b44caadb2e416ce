"""Who is browsing: the session cookie, the CSRF token of every form, and the page language.

The session cookie holds an access token bound to an AuthSession (the one `auth.service.login`
starts), checked on every request like a bearer token (`sessions.service.principal_for`): logging
out, a password change or reset and deactivation end it at once. It is httpOnly, SameSite=Lax
(links from other sites arrive signed in; their posts do not) and Secure when the request is
https or PUBLIC_BASE_URL is.

Every form carries a CSRF token: an HMAC of a random value in a second httpOnly cookie (set on
the first page a browser gets) and of the session it is signed in with, if any. Another site can
read neither, and a token does not fit another browser or another session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlmodel import col

from app.core import i18n, security
from app.core.config import Settings
from app.core.db import Transaction, Tx
from app.core.errors import AppError
from app.models.notifications import Notification
from app.models.users import User
from app.sessions import service as sessions_service
from app.sessions.service import Principal

COOKIE = "meetup_session"
CSRF_COOKIE = "meetup_csrf"
LANG_COOKIE = "lang"
SESSION_DAYS = 14
YEAR = 365 * 24 * 3600


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https" or settings_of(request).public_base_url.lower().startswith(
        "https://"
    )


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
        binding = str(self.principal.session_id) if self.principal else "anonymous"
        key = settings_of(self.request).secret_key.encode()
        message = f"web-csrf:{self.nonce}:{binding}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def csrf_ok(self, sent: str) -> bool:
        """The token fits this browser's CSRF cookie (it must have had one) and session."""
        if self.set_nonce or not sent:
            return False
        return hmac.compare_digest(sent.encode(), self.csrf_token().encode())


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


async def principal_of(tx: Tx, token: str | None) -> Principal | None:
    """Who the session cookie names, if its session is still live (the bearer-token rules)."""
    claims = security.decode_token(token, "access") if token else None
    return await sessions_service.principal_for(tx.session, claims) if claims else None


async def unread_count(tx: Tx, user: User) -> int:
    count = await tx.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
    )
    return int(count or 0)


async def _visitor(request: Request, tx: Transaction) -> Visitor:
    principal = await principal_of(tx, request.cookies.get(COOKIE))
    nonce = request.cookies.get(CSRF_COOKIE) or ""
    fresh = not (16 <= len(nonce) <= 128)
    if fresh:
        nonce = secrets.token_urlsafe(32)
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
