"""The film catalog: search, read, and what moderators change."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.announcements.models import Announcement
from app.core import clock
from app.core.db import Tx
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.pagination import PageParams, paginate_rows
from app.movies.models import Movie
from app.movies.schemas import MovieCreate, MovieUpdate
from app.users.models import Role, User

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 16


def prefix_tsquery(text: str) -> str | None:
    """A `to_tsquery('simple', ...)` string matching every word of `text` as a prefix
    ("stal tark" finds "Stalker by Tarkovsky"), or None when `text` has no word.

    Only letters and digits survive, so nothing the user types is tsquery syntax.
    """
    words = [w[:100] for w in _WORD.findall(text.lower())][:MAX_QUERY_WORDS]
    return " & ".join(f"{word}:*" for word in words) or None


def matches_text(search_vector: Any, text: str) -> ColumnElement[bool] | None:
    """`search_vector @@ to_tsquery(...)` for the words of `text`, or None (no filter)."""
    query = prefix_tsquery(text)
    if query is None:
        return None
    return search_vector.op("@@")(func.to_tsquery("simple", query))


async def list_movies(
    session: AsyncSession, *, q: str | None, genre: str | None, page: PageParams
) -> tuple[list[Movie], int]:
    conditions: list[ColumnElement[bool]] = []
    if q and (match := matches_text(Movie.search_vector, q)) is not None:
        conditions.append(match)
    if genre:
        conditions.append(Movie.genres.contains([genre.strip().lower()]))  # type: ignore[attr-defined]
    query = (
        select(Movie).where(*conditions).order_by(func.lower(Movie.title), Movie.year, Movie.id)  # type: ignore[arg-type]
    )
    rows, total = await paginate_rows(session, query, page)
    return rows, total  # type: ignore[return-value]


async def get_movie(session: AsyncSession, movie_id: uuid.UUID) -> Movie:
    movie = await session.get(Movie, movie_id)
    if movie is None:
        raise NotFound("No such movie.")
    return movie


def _duplicate(title: str, year: int | None) -> Conflict:
    when = f" ({year})" if year is not None else ""
    return Conflict(f"The catalog already has {title}{when}.", code="duplicate_movie")


async def _check_unique(
    session: AsyncSession, title: str, year: int | None, exclude: uuid.UUID | None = None
) -> None:
    """Same title (any case) and same year, an unknown year matching an unknown year. The unique
    index (lower(title), year) settles races; this check gives the common case a clear answer."""
    query = select(Movie.id).where(
        func.lower(Movie.title) == title.lower(),
        Movie.year.is_not_distinct_from(year),  # type: ignore[union-attr]
    )
    if exclude is not None:
        query = query.where(Movie.id != exclude)
    if await session.scalar(query.limit(1)) is not None:
        raise _duplicate(title, year)


async def _flush(session: AsyncSession, title: str, year: int | None) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent insert won the unique index uq_movie_title_year
        if "uq_movie_title_year" in str(exc):
            raise _duplicate(title, year) from exc
        raise


def _require_moderator(user: User) -> None:
    if user.role not in (Role.moderator, Role.admin):
        raise Forbidden("Only moderators and admins manage the movie catalog.")


async def create_movie(tx: Tx, *, user: User, data: MovieCreate) -> Movie:
    _require_moderator(user)
    title = data.title
    await _check_unique(tx.session, title, data.year)
    movie = Movie(
        title=title,
        year=data.year,
        genres=data.genres,
        runtime_minutes=data.runtime_minutes,
        description=data.description,
    )
    tx.session.add(movie)
    await _flush(tx.session, title, data.year)
    return movie


async def update_movie(tx: Tx, *, user: User, movie_id: uuid.UUID, data: MovieUpdate) -> Movie:
    """Change a movie. A corrected title also reaches the announcements that show this movie.

    Lock order, the same as every write that touches a movie and its meetups (creating or
    re-pointing a meetup takes the movie's share lock before the meetup's): the movie row first,
    then its announcements in id order. `FOR NO KEY UPDATE` (the id never changes) still waits for
    those share locks, so a meetup re-pointed meanwhile is either seen by the title rewrite or
    copies the new title itself; it does not block rows that merely reference the movie.
    """
    _require_moderator(user)
    movie = await tx.session.get(
        Movie, movie_id, with_for_update={"key_share": True}, populate_existing=True
    )
    if movie is None:
        raise NotFound("No such movie.")
    changes = data.model_dump(exclude_unset=True)
    for required in ("title", "genres", "description"):
        if required in changes and changes[required] is None:
            changes.pop(required)  # null means "no change" for fields that cannot be empty
    title, year = changes.get("title", movie.title), changes.get("year", movie.year)
    if "title" in changes or "year" in changes:
        await _check_unique(tx.session, title, year, exclude=movie.id)
    retitled = changes.get("title", movie.title) != movie.title
    for field, value in changes.items():
        setattr(movie, field, value)
    movie.updated_at = clock.now()
    await _flush(tx.session, title, year)
    if retitled:
        await _retitle_announcements(tx.session, movie)
    return movie


async def _retitle_announcements(session: AsyncSession, movie: Movie) -> None:
    """Copy the movie's new title to its announcements, locking them in id order (a plain
    UPDATE locks them in whatever order its plan visits them)."""
    ids = list(
        await session.scalars(
            select(Announcement.id)
            .where(Announcement.movie_id == movie.id)  # type: ignore[arg-type]
            .order_by(Announcement.id)  # type: ignore[arg-type]
            .with_for_update(key_share=True)
        )
    )
    if ids:
        await session.execute(
            update(Announcement)
            .where(Announcement.id.in_(ids))  # type: ignore[attr-defined]
            .values(movie_title=movie.title)
            .execution_options(synchronize_session=False)
        )
