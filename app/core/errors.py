"""Application errors and the handlers that render every error as `{detail, code}`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from inspect import cleandoc
from typing import Any, ClassVar

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import i18n
from app.core.i18n import N_, N_plural, Plural


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str
    code: str


class FieldError(BaseModel):
    """One field error of a 422 `validation_error` (pydantic's shape)."""

    type: str = Field(description="`missing`, `extra_forbidden`, `control_character`, ...")
    loc: list[str | int] = Field(description='Where: `["body", "email"]`, `["query", "limit"]`')
    msg: str
    input: Any = Field(description="The refused value (null when it is missing)")
    ctx: dict[str, Any] | None = Field(default=None, description="The rule's parameters")


class ValidationErrorBody(BaseModel):
    """422: the list of field errors (`validation_error`), or a sentence for a rule on the whole
    request (every other 422 code)."""

    detail: str | list[FieldError]
    code: str


class AppError(Exception):
    """A failure a client can act on. Services raise these, never HTTPException.

    Each machine code is a class (the generic ones here, the specific ones in their domain's
    `errors.py`): the first paragraph of its docstring says when it happens (the OpenAPI quotes
    it), `detail` is its default message, which a raise may replace with a more specific one.

    Details are English message ids, translated when the error is rendered (the request's
    `Accept-Language`): mark a literal with `N_("...")` so that `make messages` extracts it. A
    message with values is a template, `N_("The host {host} does not resolve.")` with
    `params={"host": host}`, filled after translation; a plural one is
    `N_plural("Only {n} seat left.", "Only {n} seats left.")` with `count=n` (ngettext chooses the
    form of the language, `{n}` is the count).
    """

    status_code: ClassVar[int] = 400
    code: str = "bad_request"
    detail: str = "The request could not be processed."
    # True when the request's writes must commit although it fails (a counted wrong code, a
    # refresh-token reuse that ends every session): the transaction commits, then the error renders.
    persist: bool = False

    def __init__(
        self,
        detail: str | Plural | None = None,
        *,
        headers: dict[str, str] | None = None,
        persist: bool = False,
        params: Mapping[str, Any] | None = None,
        count: int | None = None,
    ) -> None:
        self.message: str | Plural = detail if detail is not None else type(self).detail
        self.params = dict(params or {})
        self.count = count
        self.detail = self.translated(i18n.DEFAULT)
        self.headers = headers or {}
        self.persist = persist
        super().__init__(self.detail)

    def translated(self, locale: str) -> str:
        """The detail in `locale`, its values filled in."""
        catalog = i18n.translations(locale)
        if isinstance(self.message, Plural):
            count = self.count or 0
            text = catalog.ngettext(self.message.singular, self.message.plural, count)
            return text.format(n=count, **self.params)
        text = catalog.gettext(self.message)
        return text.format(**self.params) if self.params else text


class BadRequest(AppError):
    """A malformed request the framework refuses before the app."""

    status_code = 400
    code = "bad_request"
    detail = N_("The request could not be processed.")


class NotAuthenticated(AppError):
    """No token, or an invalid, expired or revoked one; a refresh token that is invalid, logged
    out or of an ended session."""

    status_code = 401
    code = "not_authenticated"
    detail = N_("Authentication is required: send a valid bearer token.")

    def __init__(self, detail: str | None = None, *, persist: bool = False) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, persist=persist)


class Forbidden(AppError):
    """The caller's role or relation does not allow it (not the author, not the host, not a
    moderator, not an admin, not the review's author)."""

    status_code = 403
    code = "forbidden"
    detail = N_("You are not allowed to do this.")


class NotFound(AppError):
    """No such id, path or short link (someone else's booking or notification is not found
    either)."""

    status_code = 404
    code = "not_found"
    detail = N_("Not found.")


class Conflict(AppError):
    """The request conflicts with the current state."""

    status_code = 409
    code = "conflict"
    detail = N_("The request conflicts with the current state.")


class Unprocessable(AppError):
    """The request is well-formed but cannot be processed."""

    status_code = 422
    code = "unprocessable"
    detail = N_("The request is well-formed but cannot be processed.")


class ValidationFailed(Unprocessable):
    """The path, query, headers or body break the schema (detail: the list of field errors).

    Rendered by the request-validation handler; `errors()` adds it to every 422 it declares."""

    code = "validation_error"
    detail = N_("The request breaks the schema.")
    example: ClassVar[Any] = [
        {"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": None}
    ]


class IdempotencyKeyReused(Unprocessable):
    """The Idempotency-Key was used before with a different request."""

    code = "idempotency_key_reused"
    detail = N_("This Idempotency-Key was used with a different request.")


class PayloadTooLarge(AppError):
    """The body is larger than `MAX_BODY_BYTES` (default 1 MiB).

    Rendered by app.core.body_limit (the body is refused while it is read, before any route)."""

    status_code = 413
    code = "payload_too_large"
    detail = N_("The request body is larger than the limit.")


class RateLimited(AppError):
    """Over a rate limit; `Retry-After` says when the window ends."""

    status_code = 429
    code = "rate_limited"
    detail = N_("Too many requests. Try again later.")

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            N_plural(
                "Too many requests. Try again in {n} second.",
                "Too many requests. Try again in {n} seconds.",
            ),
            count=retry_after,
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(AppError):
    """PostgreSQL does not answer, or no connection is free in time; `Retry-After` says when to
    try again."""

    status_code = 503
    code = "service_unavailable"
    detail = N_("A service the API depends on is unavailable. Try again shortly.")


class RateLimiterUnavailable(ServiceUnavailable):
    """Redis is down during a password check (login, token, password change) or a password
    reset: these fail closed rather than allow unlimited guessing."""

    code = "rate_limiter_unavailable"
    detail = N_(
        "Sign-in is briefly unavailable while the rate limiter recovers. Try again shortly."
    )


def when(cls: type[AppError]) -> str:
    """The first paragraph of the class's docstring on one line: when its code happens (further
    paragraphs are notes for developers, not for the OpenAPI)."""
    first = cleandoc(cls.__doc__ or "").split("\n\n", 1)[0]
    return " ".join(first.split())


def errors(*classes: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` mapping for a route, from the error classes it can raise: one entry per
    status, whose description lists each code with its docstring and whose examples show each
    code's body. A 422 entry replaces FastAPI's own, so it also lists `validation_error`."""
    by_status: dict[int, list[type[AppError]]] = {}
    for cls in classes:
        group = by_status.setdefault(cls.status_code, [])
        if cls not in group:
            group.append(cls)
    if 422 in by_status and ValidationFailed not in by_status[422]:
        by_status[422].insert(0, ValidationFailed)
    out: dict[int | str, dict[str, Any]] = {}
    for status, group in sorted(by_status.items()):
        examples = {
            cls.code: {
                "summary": cls.__name__,
                "value": {"detail": getattr(cls, "example", cls.detail), "code": cls.code},
            }
            for cls in group
        }
        out[status] = {
            "model": ValidationErrorBody if status == 422 else ErrorBody,
            "description": "\n".join(f"- `{cls.code}`: {when(cls)}" for cls in group),
            "content": {"application/json": {"examples": examples}},
        }
    return out


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status_code: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status_code, headers=headers)


def _language(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


def _translated(response: JSONResponse, locale: str) -> JSONResponse:
    response.headers["Content-Language"] = locale
    return response


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    locale = _language(request)
    detail = exc.translated(locale)
    return _translated(error_response(exc.status_code, detail, exc.code, exc.headers), locale)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # An unreadable body (bad encoding, broken form) is a validation error like broken JSON.
        return JSONResponse(
            {
                "detail": [
                    {
                        "type": "body_unreadable",
                        "loc": ["body"],
                        "msg": "The request body could not be parsed.",
                        "input": None,
                    }
                ],
                "code": "validation_error",
            },
            status_code=422,
        )
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404 and detail == "Not Found":
        detail = NotFound.detail
    locale = _language(request)
    detail = i18n.translations(locale).gettext(detail)
    headers = getattr(exc, "headers", None)
    return _translated(error_response(exc.status_code, detail, code, headers), locale)


def _renderable(value: Any) -> Any:
    """The refused input as JSON can carry it: a lone surrogate (which Python's JSON parser lets
    through, UTF-8 cannot encode) is escaped, NaN and Infinity (not JSON) become strings."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {_renderable(key): _renderable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_renderable(item) for item in value]
    return value


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's 422 shape (a list under "detail") plus the machine code every error carries.
    return JSONResponse(
        {"detail": _renderable(jsonable_encoder(exc.errors())), "code": ValidationFailed.code},
        status_code=422,
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL is restarting or the pool is exhausted: fail fast, the client may retry.
    from app.core.logging import get_logger

    get_logger(__name__).warning("database_unavailable", error=repr(exc)[:500])
    locale = _language(request)
    detail = i18n.translations(locale).gettext(
        N_("The database is unavailable right now. Try again shortly.")
    )
    response = error_response(503, detail, "service_unavailable", {"Retry-After": "2"})
    return _translated(response, locale)


# SQLSTATEs that mean "the database is not there right now" rather than "this query is wrong":
# class 08 (connection exception), admin/crash shutdown, "cannot connect now" (starting up or
# shutting down) and too many connections. asyncpg reports them as plain DBAPIErrors.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _database_gone(exc: sqlalchemy.exc.DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, sqlalchemy.exc.DBAPIError)
    if _database_gone(exc):
        return await _database_unavailable(request, exc)
    raise exc  # a real bug: the last-resort 500 (with its request id) handles it


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for unavailable in (
        sqlalchemy.exc.TimeoutError,  # no pooled connection within pool_timeout
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.OperationalError,
        ConnectionError,
        OSError,
    ):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, _database_error)
