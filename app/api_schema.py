"""The OpenAPI schema as a client generator reads it (docs/clients.md).

FastAPI writes most of it from the routes; `document(app)` finishes what it cannot know:

- **operation ids** are the route functions' names (`request_seats`), unique across the app;
- **security** follows each route's dependencies: a bearer token is required (`CurrentUser` and
  the like), optional (`OptionalUser`: the review lists) or not read at all (`security: []`);
- **an optional body** (logout, cancelling a meetup, rejecting a booking) is `required: false`
  with a plain `$ref`, not `anyOf [$ref, null]`;
- **one 422 model**, `ValidationErrorBody`, on every operation that takes input (FastAPI's own
  `HTTPValidationError` is gone), 413 `payload_too_large` where a body is read, 503
  `service_unavailable` where PostgreSQL is, and a `default` `ErrorBody` for any other status
  (405, 415, 500 ...);
- **response headers**: `X-Request-ID` on every response, `WWW-Authenticate` on 401,
  `Retry-After` on 429 and 503, `Location` on the short link's 307, `Idempotent-Replayed` on the
  routes that take an `Idempotency-Key`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.core.db import Transaction
from app.core.errors import (
    AppError,
    ErrorBody,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationErrorBody,
    ValidationFailed,
    errors,
)
from app.core.idempotency import REPLAYED_HEADER
from app.core.middleware import REQUEST_ID_HEADER
from app.sessions.dependencies import BEARER_SCHEME, bearer_use

SCHEMAS = "#/components/schemas/"
HEADERS = "#/components/headers/"

# Response headers, in components/headers; `required` where the server always sends them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {
        "description": "The request's id: the client's own `X-Request-ID` when it is printable "
        "and at most 128 characters, else a new one. Quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string"},
    },
    "WWWAuthenticate": {
        "description": "`Bearer`: send `Authorization: Bearer <access token>`",
        "required": True,
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "description": "Seconds until the rate limit's window ends",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "RetryAfterWhenKnown": {
        "description": "Seconds to wait before trying again, when the server can tell (an "
        "unavailable database: 2)",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
    },
    "Location": {
        "description": "The API URL of the announcement or booking the short link names",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    },
    "IdempotentReplayed": {
        "description": "`true` when this is the stored response to an earlier request with the "
        "same `Idempotency-Key` (nothing was done again); absent otherwise",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}

DEFAULT_RESPONSE: dict[str, Any] = {
    "description": "Any other error, as `{detail, code}`: 400 `bad_request`, 405 "
    "`method_not_allowed`, 406 `not_acceptable`, 415 `unsupported_media_type`, 500 "
    '`internal_error` (with `"request_id"`), ... (docs/api.md, "Errors")',
    "content": {"application/json": {"schema": {"$ref": SCHEMAS + ErrorBody.__name__}}},
}

# FastAPI's own 422 models, replaced by ValidationErrorBody.
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")
_NULL = {"type": "null"}


def operation_id(route: APIRoute) -> str:
    """The operation id is the route function's name: `request_seats`, not
    `request_seats_api_v1_announcements__announcement_id__bookings_post`."""
    return route.name


def document(app: FastAPI) -> None:
    """Make `app.openapi()` finish FastAPI's schema (see the module's docstring) once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # cached by FastAPI until a route is added
        if "headers" not in schema.get("components", {}):
            finish(app, schema)
        return schema

    # FastAPI's documented way to customise the schema is to replace this method.
    app.openapi = openapi  # type: ignore[method-assign]


def finish(app: FastAPI, schema: dict[str, Any]) -> None:
    routes = {
        (route.path_format, method.lower()): route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    database = _dependency_of(Transaction)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            route = routes[(path, method)]
            calls = _calls(route.dependant)
            _security(operation, bearer_use(calls))
            _optional_body(operation)
            responses = operation["responses"]
            _one_validation_model(responses)
            if "requestBody" in operation:
                _declare(responses, PayloadTooLarge)
            if database in calls:
                _declare(responses, ServiceUnavailable)
            responses["default"] = DEFAULT_RESPONSE
            parameters = operation.get("parameters", [])
            idempotent = any(
                p["in"] == "header" and p["name"] == "Idempotency-Key" for p in parameters
            )
            operation["responses"] = _with_headers(responses, idempotent=idempotent)
    components = schema.setdefault("components", {})
    components["headers"] = RESPONSE_HEADERS
    for name in _FASTAPI_422:
        components["schemas"].pop(name, None)


def _dependency_of(annotated: Any) -> Callable[..., Any]:
    depends = get_args(annotated)[1]
    dependency: Callable[..., Any] = depends.dependency
    return dependency


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency function a route runs, its sub-dependencies included."""
    found: set[Callable[..., Any]] = set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        if current.call is not None:
            found.add(current.call)
        todo.extend(current.dependencies)
    return found


def _security(operation: dict[str, Any], use: str) -> None:
    if use == "required":
        operation["security"] = [{BEARER_SCHEME: []}]
    elif use == "optional":
        operation["security"] = [{}, {BEARER_SCHEME: []}]  # anonymous, or with a token
    else:
        operation["security"] = []


def _optional_body(operation: dict[str, Any]) -> None:
    body = operation.get("requestBody")
    if body is None or body.get("required"):
        return
    for media in body["content"].values():
        branches = media["schema"].get("anyOf", [])
        if len(branches) == 2 and _NULL in branches:
            (media["schema"],) = [branch for branch in branches if branch != _NULL]
    body["required"] = False


def _error_response(cls: type[AppError]) -> dict[str, Any]:
    """errors()'s entry for `cls`, its model as a `$ref`."""
    entry = dict(errors(cls)[cls.status_code])
    model = entry.pop("model")
    entry["content"]["application/json"]["schema"] = {"$ref": SCHEMAS + model.__name__}
    return entry


def _one_validation_model(responses: dict[str, Any]) -> None:
    response = responses.get("422")
    if response is None:
        return
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("$ref") != SCHEMAS + ValidationErrorBody.__name__:
        responses["422"] = _error_response(ValidationFailed)


def _declare(responses: dict[str, Any], cls: type[AppError]) -> None:
    """Add `cls` to the operation's response of its status (a new one, or one more code)."""
    status = str(cls.status_code)
    entry = _error_response(cls)
    existing = responses.get(status)
    if existing is None:
        responses[status] = entry
        return
    examples = existing.setdefault("content", {}).setdefault("application/json", {})
    examples = examples.setdefault("examples", {})
    if cls.code not in examples:
        examples[cls.code] = entry["content"]["application/json"]["examples"][cls.code]
        existing["description"] = f"{entry['description']}\n{existing.get('description', '')}"


def _with_headers(responses: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
    """The responses in status order (`default` last), each with the headers it carries."""
    ordered: dict[str, Any] = {}
    for status in sorted(responses, key=lambda s: (s == "default", s)):
        response = dict(responses[status])
        headers = dict(response.get("headers", {}))
        headers[REQUEST_ID_HEADER] = {"$ref": HEADERS + "RequestId"}
        if status == "401":
            headers["WWW-Authenticate"] = {"$ref": HEADERS + "WWWAuthenticate"}
        elif status == "429":
            headers["Retry-After"] = {"$ref": HEADERS + "RetryAfter"}
        elif status == "503":
            headers["Retry-After"] = {"$ref": HEADERS + "RetryAfterWhenKnown"}
        elif status == "307":
            headers["Location"] = {"$ref": HEADERS + "Location"}
        # A replay answers with the first request's outcome, success or error; authentication
        # and the request's own checks come before it.
        if idempotent and status not in ("401", "503", "default"):
            headers[REPLAYED_HEADER] = {"$ref": HEADERS + "IdempotentReplayed"}
        response["headers"] = headers
        ordered[status] = response
    return ordered
