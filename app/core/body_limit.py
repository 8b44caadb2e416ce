"""A ceiling on request bodies: 413 `payload_too_large` above `MAX_BODY_BYTES` (1 MiB by default).

A declared Content-Length above the limit is refused before a byte of the body is read. A chunked
body (or one whose length was not declared) is counted as it streams in: once it passes the limit
the app's read fails, whatever the app makes of that failure is dropped, and the 413 is sent
instead. Pure ASGI, so nothing is buffered here.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge
from app.core.logging import get_logger

log = get_logger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised from `receive` once the streamed body passes the limit."""


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "detail": f"The request body is larger than the limit of {limit} bytes.",
            "code": PayloadTooLarge.code,
        },
        status_code=413,
        headers={"Connection": "close"},
    )


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # the server refuses a malformed length before it gets here


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            log.info("request_body_too_large", declared=declared, limit=self.max_bytes)
            await _too_large(self.max_bytes)(scope, receive, send)
            return

        received = 0
        exceeded = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return  # the app's answer to a failed read (a 400, a 500): the 413 replaces it
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            log.info("request_body_too_large", received=received, limit=self.max_bytes)
            await _too_large(self.max_bytes)(scope, receive, send)
