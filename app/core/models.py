"""Columns shared by every table: timezone-aware timestamps set from the app clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlmodel import Field, SQLModel

from app.core import clock


class TimestampedTable(SQLModel):
    """`created_at` and `updated_at` (`timestamptz`), both from the app clock so tests can move time.

    Tables may define SQLAlchemy hybrids (a rule usable on a row and in SQL); pydantic leaves them
    alone."""

    model_config = {"ignored_types": (hybrid_method, hybrid_property)}  # a SQLModelConfig

    created_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),
        nullable=False,
    )
    updated_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"onupdate": clock.now},
    )
