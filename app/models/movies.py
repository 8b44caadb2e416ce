"""The film catalog."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, Computed, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field

from app.core.models import TimestampedTable


class Movie(TimestampedTable, table=True):
    __tablename__ = "movie"
    __table_args__ = (
        Index("uq_movie_title_year", func.lower(text("title")), "year", unique=True),
        Index("ix_movie_search", "search_vector", postgresql_using="gin"),
        Index("ix_movie_genres", "genres", postgresql_using="gin"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    title: str = Field(max_length=300)
    year: int | None = Field(default=None)
    genres: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(50)), nullable=False, server_default="{}"),
    )
    runtime_minutes: int | None = Field(default=None)
    description: str = Field(default="", max_length=5000)
    # Full-text search over title and description ('simple': no stemming, any language).
    search_vector: str | None = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed(
                "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))",
                persisted=True,
            ),
        ),
        exclude=True,
    )
