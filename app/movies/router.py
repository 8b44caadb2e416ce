"""/api/v1 routes of the movies domain: the catalog anyone reads and moderators manage.

Documented choices where the contract is silent:
- `?q=` matches every word as a prefix of a word of the title or description, any case.
- Genres are stored lower-case; `?genre=` matches one genre exactly, any case.
- Two movies are duplicates when their titles are equal ignoring case and their years are equal
  (an unknown year counts as equal to an unknown year).
- A corrected title also changes the film title shown by the announcements of that movie.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated, NotFound, errors
from app.core.pagination import Page, Pagination
from app.models.movies import Movie
from app.movies import service
from app.movies.errors import DuplicateMovie
from app.movies.schemas import MovieCreate, MoviePublic, MovieUpdate, Text
from app.sessions.dependencies import CurrentUser

router = APIRouter(tags=["movies"])


async def _existing_movie(movie_id: uuid.UUID, tx: Transaction) -> Movie:
    """A dependency, so that errors come in the contract's order: 401, 404, 422, 403, 409."""
    return await service.get_movie(tx.session, movie_id)


@router.get("/movies", response_model=Page[MoviePublic])
async def list_movies(
    tx: Transaction,
    page: Pagination,
    q: Annotated[
        Text | None, Query(max_length=200, description="Words of the title or description")
    ] = None,
    genre: Annotated[Text | None, Query(max_length=50, description="One genre")] = None,
) -> Page[MoviePublic]:
    """Search the movie catalog, by title A-Z."""
    movies, total = await service.list_movies(tx.session, q=q, genre=genre, page=page)
    return Page(items=[MoviePublic.of(m) for m in movies], total=total, **page.model_dump())


@router.get("/movies/{movie_id}", response_model=MoviePublic, responses=errors(NotFound))
async def get_movie(movie_id: uuid.UUID, tx: Transaction) -> MoviePublic:
    """One movie of the catalog."""
    return MoviePublic.of(await service.get_movie(tx.session, movie_id))


@router.post(
    "/movies",
    status_code=201,
    response_model=MoviePublic,
    responses=errors(NotAuthenticated, Forbidden, DuplicateMovie),
)
async def create_movie(user: CurrentUser, body: MovieCreate, tx: Transaction) -> MoviePublic:
    """Add a movie to the catalog (moderators and admins)."""
    return MoviePublic.of(await service.create_movie(tx, user=user, data=body))


@router.patch(
    "/movies/{movie_id}",
    response_model=MoviePublic,
    responses=errors(NotAuthenticated, NotFound, Forbidden, DuplicateMovie),
)
async def update_movie(
    user: CurrentUser,
    movie: Annotated[Movie, Depends(_existing_movie)],
    body: MovieUpdate,
    tx: Transaction,
) -> MoviePublic:
    """Change a movie of the catalog (moderators and admins)."""
    return MoviePublic.of(await service.update_movie(tx, user=user, movie_id=movie.id, data=body))
