"""Columns shared by every table: timezone-aware timestamps set from the app clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from app.core import clock


class TimestampedTable(SQLModel):
    """`created_at` and `updated_at` (`timestamptz`), both from the app clock so tests can move time."""

    created_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),  # type: ignore[call-overload]
        nullable=False,
    )
    updated_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),  # type: ignore[call-overload]
        nullable=False,
        sa_column_kwargs={"onupdate": clock.now},
    )
