"""Response models read from ORM rows.

`View.of(row)` fills every field from the row's attribute of the same name (pydantic's
`from_attributes`), so a column added to a table and to its response model needs nothing else:
no field is copied by hand. What a row does not hold (another row, a value derived from the time)
is passed by name: `AnnouncementListItem.of(announcement, author=user, status=...)`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class _Overlay:
    """The attributes of `row`, except those given in `values`."""

    __slots__ = ("_row", "_values")

    def __init__(self, row: object, values: dict[str, Any]) -> None:
        self._row = row
        self._values = values

    def __getattr__(self, name: str) -> Any:
        values = self._values
        return values[name] if name in values else getattr(self._row, name)


class ResponseModel(BaseModel):
    """A response body. Every field is always in it, so its schema lists each one as required,
    those with a default too (pydantic would leave them optional)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class View(ResponseModel):
    """A response model built from an object's attributes (see the module's docstring)."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: object, /, **values: Any) -> Self:
        return cls.model_validate(_Overlay(row, values) if values else row, from_attributes=True)


# The API names the tables' created_at and updated_at `created` and `modified`.
Created = Annotated[datetime, Field(validation_alias=AliasChoices("created_at", "created"))]
Modified = Annotated[datetime, Field(validation_alias=AliasChoices("updated_at", "modified"))]


def _patch_schema(schema: dict[str, Any], model: type[Any]) -> None:
    """A PATCH body's schema: a field that refuses null is not nullable (omit it to keep its
    value), a clearable one is; none has a default (omitted means "no change", not null)."""
    clearable: frozenset[str] = getattr(model, "clearable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if prop.get("default", ...) is None:
            del prop["default"]
        if name in clearable:
            continue
        branches = prop.get("anyOf")
        if isinstance(branches, list) and {"type": "null"} in branches:
            rest = [branch for branch in branches if branch != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest


class Patch(BaseModel):
    """A PATCH body: only the fields sent change, and null has one meaning on every route.

    A field listed in `clearable` may be sent as null, which clears it (the schema shows it
    nullable); null for any other field is a 422 `validation_error` naming the fields (the schema
    shows them non-nullable: omit a field to keep its value). Unknown fields are a 422 too.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        sent = self.model_fields_set - self.clearable
        nulls = [name for name in type(self).model_fields if name in sent]
        nulls = [name for name in nulls if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(nulls)}")
        return self


class ApiEnum(enum.StrEnum):
    """A string enum of the API. Its schema is a named component; when a value is not an
    identifier (`-event_time`) it also names the members (`x-enum-varnames`), so that a
    generated client says `EVENT_TIME_DESC`, not `VALUE_1`."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if not all(member.value.isidentifier() for member in cls):
            handler.resolve_ref_schema(schema)["x-enum-varnames"] = [member.name for member in cls]
        return schema
