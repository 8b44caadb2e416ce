"""Request and response bodies of the movie catalog."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.core.schemas import ApiEnum, Created, Modified, Patch, View
from app.core.validation import MULTI_LINE, SINGLE_LINE, SingleLineText
from app.users.schemas import Rating


def _clean_genres(values: list[str]) -> list[str]:
    """Genres are stored lower-case and without repeats, so `?genre=` matches any spelling."""
    seen: list[str] = []
    for value in values:
        genre = value.strip().lower()
        if genre and genre not in seen:
            seen.append(genre)
    return seen


Text = SingleLineText  # the search words and genre of GET /movies
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), SINGLE_LINE
]
Year = Annotated[int, Field(ge=1870, le=2100, description="Release year")]
Genres = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=50), SINGLE_LINE]],
    Field(max_length=10, description="Up to 10 genres, stored lower-case"),
    AfterValidator(_clean_genres),
]
Runtime = Annotated[int, Field(ge=1, le=1440, description="Running time in minutes")]
Description = Annotated[str, Field(max_length=5000), MULTI_LINE]


class MovieCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    year: Year | None = None
    genres: Genres = []
    runtime_minutes: Runtime | None = None
    description: Description = ""


class MovieUpdate(Patch):
    """Only the fields sent change. `year` and `runtime_minutes` may be set to null (unknown);
    null for `title`, `genres` or `description` is a 422."""

    clearable: ClassVar[frozenset[str]] = frozenset({"year", "runtime_minutes"})

    title: Title | None = None
    year: Year | None = None
    genres: Genres | None = None
    runtime_minutes: Runtime | None = None
    description: Description | None = None


class MoviePublic(View):
    """A film of the catalog, with what its community made of it."""

    id: uuid.UUID
    title: str
    year: int | None
    genres: list[str]
    runtime_minutes: int | None
    description: str
    rating: Rating = Field(description="Visible film reviews: average score 1..10, and count")
    followers_count: int
    upcoming_meetups_count: int = Field(description="Meetups of the film not started or cancelled")


class MovieSort(ApiEnum):
    by_title = "title"
    rating_desc = "-rating"
    upcoming_desc = "-upcoming"


Score = Annotated[int, Field(ge=1, le=10, description="1 (worst) .. 10 (best)")]
ReviewText = Annotated[str, Field(max_length=4000), MULTI_LINE]


class MovieReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: Score
    text: ReviewText | None = None


class MovieReviewUpdate(Patch):
    """Only the fields sent change; `text: null` removes the text, null `score` is a 422."""

    clearable: ClassVar[frozenset[str]] = frozenset({"text"})

    score: Score | None = None
    text: ReviewText | None = None


class MovieReviewAuthor(View):
    id: uuid.UUID
    name: str


class MovieReviewPublic(View):
    """A review of a film. Hidden ones are listed to nobody and count in no rating."""

    id: uuid.UUID
    movie_id: uuid.UUID
    author: MovieReviewAuthor
    score: int
    text: str | None
    likes_count: int
    hidden: bool = Field(description="Hidden by a moderator")
    created: Created
    modified: Modified


class MovieReviewSort(ApiEnum):
    likes_desc = "-likes"
    created_desc = "-created"
