"""The film catalog: search, read, and what moderators change."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Float, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.announcements import queries as announcement_queries
from app.announcements import service as announcements_service
from app.core import clock, search
from app.core.db import Tx
from app.core.errors import Forbidden, NotFound
from app.core.i18n import N_
from app.core.pagination import PageParams, Total, paginate_rows
from app.models.movies import Movie
from app.models.users import Role, User
from app.movies.errors import DuplicateMovie
from app.movies.schemas import MovieCreate, MoviePublic, MovieSort, MovieUpdate


def _average() -> ColumnElement[float | Decimal]:
    return cast(col(Movie.rating_sum), Float) / func.nullif(col(Movie.rating_count), 0)


async def list_movies(
    session: AsyncSession,
    *,
    q: str | None,
    genre: str | None,
    sort: MovieSort = MovieSort.by_title,
    page: PageParams,
) -> tuple[list[MoviePublic], Total]:
    """The catalog, filtered; by title A-Z, by rating (best first, unrated last) or by the
    number of upcoming meetups (most first); ties by title."""
    now = clock.now()
    conditions: list[ColumnElement[bool]] = []
    if q and (match := search.matches_text(col(Movie.search_vector), q)) is not None:
        conditions.append(match)
    if genre:
        conditions.append(col(Movie.genres).contains([genre.strip().lower()]))
    by_title = (func.lower(col(Movie.title)), col(Movie.year), col(Movie.id))
    query = select(Movie).where(*conditions)
    if sort == MovieSort.rating_desc:
        query = query.order_by(
            _average().desc().nulls_last(), col(Movie.rating_count).desc(), *by_title
        )
    elif sort == MovieSort.upcoming_desc:
        upcoming = announcement_queries.upcoming_per_movie(now)
        query = query.outerjoin(upcoming, upcoming.c.movie_id == col(Movie.id)).order_by(
            func.coalesce(upcoming.c.upcoming, 0).desc(), *by_title
        )
    else:
        query = query.order_by(*by_title)
    movies, total = await paginate_rows(session, query, page)
    return await movie_views(session, movies, now), total


async def movie_views(
    session: AsyncSession, movies: list[Movie], now: datetime | None = None
) -> list[MoviePublic]:
    """The API's view of films, with their upcoming meetups counted in one query."""
    counts = await announcement_queries.upcoming_counts(
        session, [movie.id for movie in movies], now or clock.now()
    )
    return [MoviePublic.of(m, upcoming_meetups_count=counts.get(m.id, 0)) for m in movies]


async def movie_view(session: AsyncSession, movie: Movie) -> MoviePublic:
    return (await movie_views(session, [movie]))[0]


async def get_movie(session: AsyncSession, movie_id: uuid.UUID) -> Movie:
    movie = await session.get(Movie, movie_id)
    if movie is None:
        raise NotFound(N_("No such movie."))
    return movie


def _duplicate(title: str, year: int | None) -> DuplicateMovie:
    if year is None:
        return DuplicateMovie(N_("The catalog already has {title}."), params={"title": title})
    return DuplicateMovie(
        N_("The catalog already has {title} ({year})."), params={"title": title, "year": year}
    )


async def _check_unique(
    session: AsyncSession, title: str, year: int | None, exclude: uuid.UUID | None = None
) -> None:
    """Same title (any case) and same year, an unknown year matching an unknown year. The unique
    index (lower(title), year) settles races; this check gives the common case a clear answer."""
    query = select(col(Movie.id)).where(
        func.lower(col(Movie.title)) == title.lower(),
        col(Movie.year).is_not_distinct_from(year),
    )
    if exclude is not None:
        query = query.where(col(Movie.id) != exclude)
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
        raise Forbidden(N_("Only moderators and admins manage the movie catalog."))


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
        raise NotFound(N_("No such movie."))
    changes = data.model_dump(exclude_unset=True)  # null only for year and runtime_minutes
    title, year = changes.get("title", movie.title), changes.get("year", movie.year)
    if "title" in changes or "year" in changes:
        await _check_unique(tx.session, title, year, exclude=movie.id)
    retitled = changes.get("title", movie.title) != movie.title
    for field, value in changes.items():
        setattr(movie, field, value)
    movie.updated_at = clock.now()
    await _flush(tx.session, title, year)
    if retitled:
        await announcements_service.retitle_movie(tx.session, movie.id, movie.title)
    return movie
