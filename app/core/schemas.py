"""Response models read from ORM rows.

`View.of(row)` fills every field from the row's attribute of the same name (pydantic's
`from_attributes`), so a column added to a table and to its response model needs nothing else:
no field is copied by hand. What a row does not hold (another row, a value derived from the time)
is passed by name: `AnnouncementListItem.of(announcement, author=user, status=...)`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class _Overlay:
    """The attributes of `row`, except those given in `values`."""

    __slots__ = ("_row", "_values")

    def __init__(self, row: object, values: dict[str, Any]) -> None:
        self._row = row
        self._values = values

    def __getattr__(self, name: str) -> Any:
        values = self._values
        return values[name] if name in values else getattr(self._row, name)


class View(BaseModel):
    """A response model built from an object's attributes (see the module's docstring)."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: object, /, **values: Any) -> Self:
        return cls.model_validate(_Overlay(row, values) if values else row, from_attributes=True)


# The API names the tables' created_at and updated_at `created` and `modified`.
Created = Annotated[datetime, Field(validation_alias=AliasChoices("created_at", "created"))]
Modified = Annotated[datetime, Field(validation_alias=AliasChoices("updated_at", "modified"))]
