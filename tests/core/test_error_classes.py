"""Error codes are classes: each has a docstring (the OpenAPI quotes it) and a code of its own;
every code a route declares is in docs/api.md's table; a raised class renders as `{detail, code}`
with its status."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import httpx
from fastapi import FastAPI

import app
from app.bookings.errors import AlreadyBooked
from app.core.errors import AppError, when
from tests.support.factories import UserFactory
from tests.support.meetups import MakeAnnouncement

API_GUIDE = Path(__file__).parents[2] / "docs" / "api.md"
_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|", re.MULTILINE)


def _error_classes() -> list[type[AppError]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name.endswith(".errors"):
            importlib.import_module(module.name)
    found: list[type[AppError]] = []
    todo = list(AppError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_has_a_docstring_and_a_code_of_its_own() -> None:
    classes = _error_classes()
    assert len(classes) > 30
    owners: dict[str, list[str]] = {}
    for cls in classes:
        assert "code" in cls.__dict__, f"{cls.__qualname__} inherits its parent's code"
        assert cls.__dict__.get("__doc__") and when(cls), f"{cls.__qualname__} has no docstring"
        assert isinstance(cls.__dict__.get("detail", cls.detail), str)
        owners.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    shared = {code: names for code, names in owners.items() if len(names) > 1}
    assert not shared, f"codes defined by more than one class: {shared}"


def test_every_code_a_route_declares_is_in_the_api_guide(app: FastAPI) -> None:
    documented = set(_ROW.findall(API_GUIDE.read_text(encoding="utf-8")))
    assert len(documented) > 30
    missing: dict[tuple[str, str], list[str]] = {}
    declared = 0
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith(("4", "5")):
                    continue
                examples = response.get("content", {}).get("application/json", {})
                for code in examples.get("examples", {}):
                    declared += 1
                    if (status, code) not in documented:
                        missing.setdefault((status, code), []).append(f"{method.upper()} {path}")
    assert declared > 100
    assert not missing, f"codes missing from docs/api.md's error table: {missing}"


def test_a_route_documents_each_code_it_declares(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/api/v1/announcements/{announcement_id}/bookings"]["post"]
    conflict = operation["responses"]["409"]
    assert f"`already_booked`: {when(AlreadyBooked)}" in conflict["description"]
    example = conflict["content"]["application/json"]["examples"]["already_booked"]["value"]
    assert example == {"detail": AlreadyBooked.detail, "code": "already_booked"}
    assert (
        "validation_error"
        in operation["responses"]["422"]["content"]["application/json"]["examples"]
    )


async def test_a_raised_error_class_renders_as_detail_and_code_with_its_status(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, tickets_count=4)
    url = f"/api/v1/announcements/{meetup.id}/bookings"
    first = await client.post(url, json={"seats": 1}, headers=guest.headers)
    assert first.status_code == 201
    again = await client.post(url, json={"seats": 1}, headers=guest.headers)
    assert again.status_code == AlreadyBooked.status_code == 409
    assert again.json() == {
        "detail": "You already have a booking for this meetup.",
        "code": "already_booked",
    }
