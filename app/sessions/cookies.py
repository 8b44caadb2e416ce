"""Browser sessions, shared by the web front end and the /admin console: who a session cookie
names, whether cookies must be Secure, and the CSRF tokens of their forms.

A session cookie holds an access token bound to an AuthSession, checked on every request like a
bearer token (`principal_for`), so logging out, a password change or reset, deactivation or a
demotion end it at once.

A CSRF token is an HMAC (keyed by SECRET_KEY) of a purpose, a random value that a second
httpOnly cookie keeps in the browser, and the session it is signed in with, if any. Another site
can read neither cookie, and a token does not fit another purpose, browser or session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from app.core import security
from app.core.config import Settings
from app.core.db import Tx
from app.sessions import service as sessions_service
from app.sessions.service import Principal

NONCE_BYTES = 32
_NONCE_LENGTHS = range(16, 129)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def is_secure(request: Request) -> bool:
    """Cookies get the Secure flag when the request is https or the public URL is."""
    return request.url.scheme == "https" or settings_of(request).public_base_url.lower().startswith(
        "https://"
    )


async def principal_of(tx: Tx, token: str | None) -> Principal | None:
    """Who a session cookie's token names, if its session is still live (the bearer rules)."""
    claims = security.decode_token(token, "access") if token else None
    return await sessions_service.principal_for(tx.session, claims) if claims else None


def nonce_of(request: Request, cookie: str) -> tuple[str, bool]:
    """This browser's CSRF value from its cookie, or a fresh one (True: set the cookie)."""
    nonce = request.cookies.get(cookie) or ""
    if len(nonce) in _NONCE_LENGTHS:
        return nonce, False
    return secrets.token_urlsafe(NONCE_BYTES), True


def csrf_token(request: Request, purpose: str, nonce: str, principal: Principal | None) -> str:
    binding = str(principal.session_id) if principal else "anonymous"
    key = settings_of(request).secret_key.encode()
    return hmac.new(key, f"{purpose}:{nonce}:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(
    request: Request, sent: str, purpose: str, nonce: str, principal: Principal | None
) -> bool:
    """The form's token fits this browser's CSRF value, the purpose and the session."""
    if not sent or not nonce:
        return False
    expected = csrf_token(request, purpose, nonce, principal)
    return hmac.compare_digest(sent.encode(), expected.encode())
