"""The film catalog, and what people do around a film: follow it, review it, like reviews."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.models import TimestampedTable
from app.models.users import RatingAggregate


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
    # Running aggregates, moved in the transaction of each follow and each review change.
    followers_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    rating_sum: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    rating_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    @property
    def rating(self) -> RatingAggregate:
        """The visible film reviews' scores (1..10)."""
        return RatingAggregate(self.rating_sum, self.rating_count)


class MovieFollow(SQLModel, table=True):
    """`user_id` follows the film `movie_id`: told of every meetup announced for it."""

    __tablename__ = "movie_follow"
    __table_args__ = (Index("ix_movie_follow_movie_user", "movie_id", "user_id"),)

    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    movie_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("movie.id", ondelete="CASCADE"), primary_key=True)
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))


class MovieReview(TimestampedTable, table=True):
    """A user's score (1..10) and optional text about a film: one per user and film."""

    __tablename__ = "movie_review"
    __table_args__ = (
        UniqueConstraint("movie_id", "author_id", name="uq_movie_review_once"),
        CheckConstraint("score BETWEEN 1 AND 10", name="movie_score_range"),
        Index("ix_movie_review_movie_created", "movie_id", "created_at"),
        Index("ix_movie_review_movie_likes", "movie_id", "likes_count", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    movie_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("movie.id", ondelete="CASCADE"), nullable=False)
    )
    author_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    score: int
    text: str | None = Field(default=None, max_length=4000)
    likes_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    hidden: bool = Field(default=False)


class MovieReviewLike(SQLModel, table=True):
    __tablename__ = "movie_review_like"

    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    review_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("movie_review.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=DateTime(timezone=True))
