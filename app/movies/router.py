"""/api/v1 routes of the movies domain: the catalog anyone reads and moderators manage.

Documented choices where the contract is silent:
- `?q=` matches every word as a prefix of a word of the title or description, any case.
- Genres are stored lower-case; `?genre=` matches one genre exactly, any case.
- Two movies are duplicates when their titles are equal ignoring case and their years are equal
  (an unknown year counts as equal to an unknown year).
- A corrected title also changes the film title shown by the announcements of that movie.
- A film's rating counts its visible reviews (1..10); `upcoming_meetups_count` its meetups not yet
  started or cancelled. `GET /movies?sort=-rating` puts unrated films last.
- Likes: a review's author can neither like nor unlike it (400 cannot_like_own); a hidden review
  cannot be liked (404).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated, NotFound, errors
from app.core.pagination import Page, Pagination
from app.models.movies import Movie
from app.movies import community, service
from app.movies.errors import CannotLikeOwn, DuplicateMovie
from app.movies.schemas import (
    MovieCreate,
    MoviePublic,
    MovieReviewCreate,
    MovieReviewPublic,
    MovieReviewSort,
    MovieReviewUpdate,
    MovieSort,
    MovieUpdate,
    Text,
)
from app.reviews.errors import AlreadyReviewed
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
    sort: Annotated[
        MovieSort,
        Query(description="title (A-Z), -rating (best first), -upcoming (most meetups first)"),
    ] = MovieSort.by_title,
) -> Page[MoviePublic]:
    """Search the movie catalog."""
    movies, total = await service.list_movies(tx.session, q=q, genre=genre, sort=sort, page=page)
    return Page(items=movies, total=total, **page.model_dump())


@router.get("/movies/{movie_id}", response_model=MoviePublic, responses=errors(NotFound))
async def get_movie(movie_id: uuid.UUID, tx: Transaction) -> MoviePublic:
    """One movie of the catalog."""
    return await service.movie_view(tx.session, await service.get_movie(tx.session, movie_id))


@router.post(
    "/movies",
    status_code=201,
    response_model=MoviePublic,
    responses=errors(NotAuthenticated, Forbidden, DuplicateMovie),
)
async def create_movie(user: CurrentUser, body: MovieCreate, tx: Transaction) -> MoviePublic:
    """Add a movie to the catalog (moderators and admins)."""
    return await service.movie_view(
        tx.session, await service.create_movie(tx, user=user, data=body)
    )


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
    changed = await service.update_movie(tx, user=user, movie_id=movie.id, data=body)
    return await service.movie_view(tx.session, changed)


# --- following a film --------------------------------------------------------------------------


@router.put(
    "/movies/{movie_id}/follow", status_code=204, responses=errors(NotAuthenticated, NotFound)
)
async def follow_movie(movie_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Follow a film: hear of every meetup announced for it (idempotent)."""
    await community.follow(tx, user, movie_id)
    return Response(status_code=204)


@router.delete(
    "/movies/{movie_id}/follow", status_code=204, responses=errors(NotAuthenticated, NotFound)
)
async def unfollow_movie(movie_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Stop following a film (idempotent)."""
    await community.unfollow(tx, user, movie_id)
    return Response(status_code=204)


@router.get(
    "/users/me/movies", response_model=Page[MoviePublic], responses=errors(NotAuthenticated)
)
async def list_my_movies(user: CurrentUser, page: Pagination, tx: Transaction) -> Page[MoviePublic]:
    """The films the caller follows, the latest followed first."""
    movies, total = await community.followed_movies(tx.session, user.id, page)
    views = await service.movie_views(tx.session, movies)
    return Page(items=views, total=total, **page.model_dump())


# --- film reviews ----------------------------------------------------------------------------------


@router.post(
    "/movies/{movie_id}/reviews",
    status_code=201,
    response_model=MovieReviewPublic,
    responses=errors(NotAuthenticated, NotFound, AlreadyReviewed),
)
async def create_movie_review(
    movie_id: uuid.UUID, body: MovieReviewCreate, user: CurrentUser, tx: Transaction
) -> MovieReviewPublic:
    """Score a film 1..10, with an optional text; one review per user and film."""
    return await community.create_review(tx, author=user, movie_id=movie_id, data=body)


@router.get(
    "/movies/{movie_id}/reviews",
    response_model=Page[MovieReviewPublic],
    responses=errors(NotFound),
)
async def list_movie_reviews(
    movie_id: uuid.UUID,
    page: Pagination,
    tx: Transaction,
    sort: Annotated[
        MovieReviewSort, Query(description="-likes (most liked first) or -created (newest)")
    ] = MovieReviewSort.likes_desc,
) -> Page[MovieReviewPublic]:
    """A film's visible reviews."""
    reviews, total = await community.list_reviews(tx.session, movie_id, sort, page)
    return Page(items=reviews, total=total, **page.model_dump())


@router.patch(
    "/movie-reviews/{review_id}",
    response_model=MovieReviewPublic,
    responses=errors(NotAuthenticated, NotFound, Forbidden),
)
async def update_movie_review(
    review_id: uuid.UUID, body: MovieReviewUpdate, user: CurrentUser, tx: Transaction
) -> MovieReviewPublic:
    """Change one's review of a film."""
    return await community.update_review(tx, user=user, review_id=review_id, data=body)


@router.delete(
    "/movie-reviews/{review_id}",
    status_code=204,
    responses=errors(NotAuthenticated, NotFound, Forbidden),
)
async def delete_movie_review(review_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Delete one's review of a film; it leaves the film's rating."""
    await community.delete_review(tx, user=user, review_id=review_id)
    return Response(status_code=204)


@router.put(
    "/movie-reviews/{review_id}/like",
    status_code=204,
    responses=errors(NotAuthenticated, NotFound, CannotLikeOwn),
)
async def like_movie_review(review_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Like someone else's review of a film (idempotent)."""
    await community.like(tx, user=user, review_id=review_id)
    return Response(status_code=204)


@router.delete(
    "/movie-reviews/{review_id}/like",
    status_code=204,
    responses=errors(NotAuthenticated, NotFound, CannotLikeOwn),
)
async def unlike_movie_review(review_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Take back a like (idempotent)."""
    await community.unlike(tx, user=user, review_id=review_id)
    return Response(status_code=204)


@router.post(
    "/movie-reviews/{review_id}/hide",
    response_model=MovieReviewPublic,
    responses=errors(NotAuthenticated, Forbidden, NotFound),
)
async def hide_movie_review(
    review_id: uuid.UUID, user: CurrentUser, tx: Transaction
) -> MovieReviewPublic:
    """Hide a review from lists and from the film's rating (moderators, admins; idempotent)."""
    return await community.set_hidden(tx, user=user, review_id=review_id, hidden=True)


@router.post(
    "/movie-reviews/{review_id}/unhide",
    response_model=MovieReviewPublic,
    responses=errors(NotAuthenticated, Forbidden, NotFound),
)
async def unhide_movie_review(
    review_id: uuid.UUID, user: CurrentUser, tx: Transaction
) -> MovieReviewPublic:
    """Show a hidden review again and count it (moderators, admins; idempotent)."""
    return await community.set_hidden(tx, user=user, review_id=review_id, hidden=False)
