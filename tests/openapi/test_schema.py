"""The schema lint (docs/clients.md): the live OpenAPI is valid OpenAPI 3.1 (openapi-spec-validator)
and keeps the rules that make a generated client read well and behave: operation ids, named
enums, optional bodies, PATCH nullability, one 422 model, declared errors and headers, required
response fields, honest security."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from app.announcements.schemas import AnnouncementUpdate
from app.core.schemas import Patch
from app.events import EventKind
from app.main import create_app
from app.movies.schemas import MovieReviewUpdate, MovieUpdate
from app.notifications.fanout import NEW_ANNOUNCEMENT, NEW_MOVIE_MEETUP
from app.notifications.reminders import REMINDERS, REVIEW_INVITATION
from app.notifications.schemas import NotificationKind
from app.users.schemas import AdminUserUpdate, UserUpdate
from app.webhooks.schemas import WebhookUpdate

SCHEMAS = "#/components/schemas/"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NULL = {"type": "null"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app().openapi()


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _by_id(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for _, _, op in _operations(schema)}


def _refs(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS):
                found.add(value.removeprefix(SCHEMAS))
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _closure(schema: dict[str, Any], names: set[str]) -> set[str]:
    components = schema["components"]["schemas"]
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(components[name], set()))
    return seen


def test_the_schema_is_valid_openapi_3_1(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.1")
    validate(schema, cls=OpenAPIV31SpecValidator)
    # What Redocly's recommended rules also ask for.
    assert schema["servers"]
    assert schema["info"]["license"]["name"] == "MIT"


def test_operation_ids_are_route_names_unique_and_snake_case(schema: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(schema)]
    assert len(ids) > 50
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert SNAKE.match(operation_id), operation_id
        # Not FastAPI's default shape (`name_api_v1_path_method`).
        assert "api_v1" not in operation_id, operation_id
        assert not re.search(r"_(get|post|put|patch|delete)$", operation_id), operation_id
    for expected in ("request_seats", "approve_booking", "get_announcement_calendar", "logout"):
        assert expected in ids


def test_one_validation_error_model_with_a_code(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components
    assert "code" in components["ValidationErrorBody"]["required"]
    seen = 0
    for path, method, operation in _operations(schema):
        response = operation["responses"].get("422")
        if response is None:
            continue
        seen += 1
        media = response["content"]["application/json"]
        assert media["schema"] == {"$ref": SCHEMAS + "ValidationErrorBody"}, (method, path)
        assert "validation_error" in media["examples"], (method, path)
    assert seen > 50


def test_every_operation_declares_a_default_error_and_its_headers(schema: dict[str, Any]) -> None:
    headers = schema["components"]["headers"]
    assert headers["RequestId"]["required"] is True
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        default = responses["default"]["content"]["application/json"]["schema"]
        assert default == {"$ref": SCHEMAS + "ErrorBody"}, where
        if "requestBody" in operation:
            assert "413" in responses, where
        idempotent = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for status, response in responses.items():
            declared = response["headers"]
            assert declared["X-Request-ID"] == {"$ref": "#/components/headers/RequestId"}, where
            if status == "401":
                assert "WWW-Authenticate" in declared, where
            if status in ("429", "503"):
                assert "Retry-After" in declared, where
            if status.startswith("2") and idempotent:
                assert "Idempotent-Replayed" in declared, where
    by_id = _by_id(schema)
    assert "Location" in by_id["follow_short_link"]["responses"]["307"]["headers"]
    replayed = {
        op["operationId"]
        for _, _, op in _operations(schema)
        if any("Idempotent-Replayed" in r["headers"] for r in op["responses"].values())
    }
    assert replayed == {"create_announcement", "request_seats", "create_review"}
    assert "503" in by_id["list_announcements"]["responses"]


def _inline_enums(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, dict):
        if "enum" in node:
            yield where
        for key, value in node.items():
            yield from _inline_enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _inline_enums(value, f"{where}/{i}")


def test_every_enum_is_a_named_component(schema: dict[str, Any]) -> None:
    found: list[str] = []
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            found.extend(_inline_enums(parameter["schema"], f"{method} {path} {parameter['name']}"))
    for name, component in schema["components"]["schemas"].items():
        if "enum" in component:
            values = component["enum"]
            if not all(isinstance(v, str) and v.isidentifier() for v in values):
                assert len(component["x-enum-varnames"]) == len(values), name
            continue
        found.extend(_inline_enums(component.get("properties", {}), name))
    assert not found, f"inline enums: {found}"
    components = schema["components"]["schemas"]
    kind = components["NotificationPublic"]["properties"]["kind"]
    assert kind == {"$ref": SCHEMAS + "NotificationKind"}
    sort = next(
        p for p in _by_id(schema)["list_announcements"]["parameters"] if p["name"] == "sort"
    )
    assert sort["schema"]["$ref"] == SCHEMAS + "AnnouncementSort"
    assert "event_time_desc" in components["AnnouncementSort"]["x-enum-varnames"]


def test_notification_kind_lists_every_kind_the_app_writes() -> None:
    written = (
        {k.value for k in EventKind} - {EventKind.announcement_created.value}
        | set(REMINDERS)
        | {REVIEW_INVITATION, NEW_ANNOUNCEMENT, NEW_MOVIE_MEETUP}
    )
    assert {k.value for k in NotificationKind} == written


def test_optional_bodies_are_not_required_and_not_nullable(schema: dict[str, Any]) -> None:
    by_id = _by_id(schema)
    for operation_id in ("logout", "cancel_announcement", "reject_booking"):
        body = by_id[operation_id]["requestBody"]
        assert body["required"] is False, operation_id
        assert set(body["content"]["application/json"]["schema"]) == {"$ref"}, operation_id
    for path, method, operation in _operations(schema):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            assert NULL not in media["schema"].get("anyOf", []), f"{method} {path}"


PATCH_MODELS: dict[str, type[Patch]] = {
    "update_me": UserUpdate,
    "update_movie": MovieUpdate,
    "update_announcement": AnnouncementUpdate,
    "admin_update_user": AdminUserUpdate,
    "update_movie_review": MovieReviewUpdate,
    "update_webhook": WebhookUpdate,
}


def _nullable(prop: dict[str, Any]) -> bool:
    return NULL in prop.get("anyOf", []) or prop.get("type") == "null"


def test_patch_fields_are_nullable_only_where_null_clears(schema: dict[str, Any]) -> None:
    patches = [op for path, method, op in _operations(schema) if method == "patch"]
    assert {op["operationId"] for op in patches} == set(PATCH_MODELS)
    components = schema["components"]["schemas"]
    for operation in patches:
        model = PATCH_MODELS[operation["operationId"]]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = components[ref.removeprefix(SCHEMAS)]["properties"]
        assert set(properties) == set(model.model_fields)
        nullable = {name for name, prop in properties.items() if _nullable(prop)}
        assert nullable == set(model.clearable), model.__name__
        assert not any("default" in prop for prop in properties.values()), model.__name__
    assert AnnouncementUpdate.clearable == {"movie_id", "price"}
    assert MovieUpdate.clearable == {"year", "runtime_minutes"}


def test_every_response_field_is_required(schema: dict[str, Any]) -> None:
    """A field the server always returns is required in the response schema (fields with a
    default too), so a generated model does not type it `X | Unset`."""
    inputs: set[str] = set()
    outputs: set[str] = set()
    for _, _, operation in _operations(schema):
        _refs(operation.get("requestBody", {}), inputs)
        _refs(operation.get("parameters", []), inputs)
        _refs(operation["responses"], outputs)
    response_only = _closure(schema, outputs) - _closure(schema, inputs)
    assert "BookingPublic" in response_only
    components = schema["components"]["schemas"]
    optional = {
        name: sorted(
            set(components[name].get("properties", {})) - set(components[name].get("required", []))
        )
        for name in response_only
    }
    # FieldError.ctx is only there for the rules that have parameters.
    assert {name: fields for name, fields in optional.items() if fields} == {"FieldError": ["ctx"]}


def test_the_oauth2_form_has_a_readable_name(schema: dict[str, Any]) -> None:
    body = _by_id(schema)["login_with_form"]["requestBody"]["content"]
    assert body["application/x-www-form-urlencoded"]["schema"] == {"$ref": SCHEMAS + "TokenForm"}
    assert not [name for name in schema["components"]["schemas"] if name.startswith("Body_")]


BEARER = [{"OAuth2PasswordBearer": []}]


def test_security_says_which_routes_need_a_token(schema: dict[str, Any]) -> None:
    by_id = _by_id(schema)
    assert all("security" in op for op in by_id.values())
    for public in (
        "get_health",
        "get_readiness",
        "follow_short_link",
        "register",
        "login",
        "login_with_form",
        "list_announcements",
        "get_announcement_calendar",
        "list_movies",
        "get_user",
    ):
        assert by_id[public]["security"] == [], public
    # A token is optional where it adds to the answer (a meetup's friends_going).
    for optional in ("list_announcement_reviews", "list_user_reviews", "get_announcement"):
        assert by_id[optional]["security"] == [{}, *BEARER], optional
    for required in ("request_seats", "approve_booking", "logout", "list_notifications"):
        assert by_id[required]["security"] == BEARER, required
    # Every route that reads a token says it answers 401 to a bad one.
    for operation_id, operation in by_id.items():
        if operation["security"]:
            assert "401" in operation["responses"], operation_id
