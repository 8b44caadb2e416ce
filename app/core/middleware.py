"""The outermost layer of every request: request id, structured access context, metrics, and the
last-resort 500 (which must carry the request id too, so it cannot be left to Starlette)."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import get_logger
from app.core.metrics import HTTP_LATENCY, HTTP_REQUESTS
from app.core.security_headers import security_headers

log = get_logger("app.request")

REQUEST_ID_HEADER = "X-Request-ID"
_MAX_REQUEST_ID = 128


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1").strip()
            # Echo a client's id only if it is printable and short: it ends up in our logs.
            if 0 < len(candidate) <= _MAX_REQUEST_ID and candidate.isprintable():
                return candidate
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if response_started:
                raise
            response = JSONResponse(
                {
                    "detail": "An unexpected error occurred. "
                    f"Quote request id {request_id} when reporting it.",
                    "code": "internal_error",
                    "request_id": request_id,
                },
                status_code=500,
                # Sent past the inner middlewares, so it adds their security headers itself.
                headers={REQUEST_ID_HEADER: request_id, **security_headers(scope)},
            )
            await response(scope, receive, send)
            status = 500
        finally:
            route = _route_template(scope)
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
