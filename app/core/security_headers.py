"""Security headers on every response: the API's, the docs pages', the admin pages', errors too.

A JSON API needs almost nothing from a browser, so its Content-Security-Policy forbids everything.
The two kinds of HTML page get a policy that lets them work: Swagger UI and ReDoc load their script
and styles from cdn.jsdelivr.net and start with an inline script; the server-rendered pages (/admin
and the web front end, app/web, which sends PAGE_CSP itself) use their own scripts and styles and
post forms to themselves. A response that sets its own CSP keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' data: https://fonts.gstatic.com; "
    "img-src 'self' data: https:; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "form-action 'self'; "
    "base-uri 'self'; "
    "frame-ancestors 'none'"
)
PAGE_CSP = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "form-action 'self'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Tokens, codes and account data: no cache (browser or proxy) may keep these responses.
_NO_STORE_PREFIXES = ("/api/v1/auth/",)
_ADMIN_PAGES = "/admin"


def _is_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    # Behind nginx (TLS ends there) uvicorn rewrites the scheme only for trusted proxies; the
    # header is read too because HSTS received over plain http is ignored by browsers anyway.
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def _content_security_policy(path: str, docs_paths: frozenset[str]) -> str:
    if path in docs_paths:
        return DOCS_CSP
    if path == _ADMIN_PAGES or path.startswith(_ADMIN_PAGES + "/"):
        return PAGE_CSP
    return API_CSP


def security_headers(scope: Scope, docs_paths: frozenset[str] = frozenset()) -> dict[str, str]:
    """The headers a response to this request carries (also used for the last-resort 500)."""
    path: str = scope.get("path", "")
    headers = {**_ALWAYS, "Content-Security-Policy": _content_security_policy(path, docs_paths)}
    if _is_https(scope):
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith(_NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response that passes through it (pure ASGI)."""

    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str | None] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(path for path in docs_paths if path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope, self.docs_paths)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name == "Cache-Control":
                        headers[name] = value  # no-store wins over any route's caching
                    elif name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
