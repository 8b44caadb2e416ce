"""What people do around a film: follow it, review it (1..10), like others' reviews.

The film's `followers_count` and rating (`rating_sum`, `rating_count` of its visible reviews)
and each review's `likes_count` move in the transaction of the change, by atomic UPDATEs, so
racing changes cannot lose one. A relation that already exists (a second follow or like) moves
nothing: every PUT and DELETE is idempotent.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.db import Tx
from app.core.errors import Forbidden, NotFound
from app.core.i18n import N_
from app.core.logging import get_logger
from app.core.pagination import PageParams, Total, paginate_rows
from app.models.movies import Movie, MovieFollow, MovieReview, MovieReviewLike
from app.models.users import User
from app.movies.errors import CannotLikeOwn
from app.movies.schemas import (
    MovieReviewCreate,
    MovieReviewPublic,
    MovieReviewSort,
    MovieReviewUpdate,
)
from app.reviews.errors import AlreadyReviewed
from app.reviews.service import can_moderate

log = get_logger(__name__)


async def _existing_movie(session: AsyncSession, movie_id: uuid.UUID) -> None:
    if await session.get(Movie, movie_id) is None:
        raise NotFound(N_("No such movie."))


async def _move_movie(session: AsyncSession, movie_id: uuid.UUID, **steps: int) -> None:
    """Add `steps` ({"followers_count": 1}, ...) to the film's aggregates in one UPDATE."""
    await session.execute(
        update(Movie)
        .where(col(Movie.id) == movie_id)
        .values({name: col(getattr(Movie, name)) + step for name, step in steps.items()})
        .execution_options(synchronize_session=False)
    )


# --- following a film --------------------------------------------------------------------------


async def follow(tx: Tx, user: User, movie_id: uuid.UUID) -> None:
    await _existing_movie(tx.session, movie_id)
    added = await tx.session.scalar(
        insert(MovieFollow)
        .values(user_id=user.id, movie_id=movie_id, created_at=clock.now())
        .on_conflict_do_nothing()
        .returning(col(MovieFollow.movie_id))
    )
    if added is not None:
        await _move_movie(tx.session, movie_id, followers_count=+1)


async def unfollow(tx: Tx, user: User, movie_id: uuid.UUID) -> None:
    await _existing_movie(tx.session, movie_id)
    removed = await tx.session.scalar(
        delete(MovieFollow)
        .where(col(MovieFollow.user_id) == user.id, col(MovieFollow.movie_id) == movie_id)
        .returning(col(MovieFollow.movie_id))
    )
    if removed is not None:
        await _move_movie(tx.session, movie_id, followers_count=-1)


async def followed_movies(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[Movie], Total]:
    """The films a user follows, the latest followed first."""
    query = (
        select(Movie)
        .join(MovieFollow, col(MovieFollow.movie_id) == col(Movie.id))
        .where(col(MovieFollow.user_id) == user_id)
        .order_by(col(MovieFollow.created_at).desc(), col(Movie.id))
    )
    return await paginate_rows(session, query, page)


# --- reviewing a film ----------------------------------------------------------------------------


def _score_steps(score: int, step: int) -> dict[str, int]:
    return {"rating_sum": step * score, "rating_count": step}


async def _view(session: AsyncSession, review: MovieReview) -> MovieReviewPublic:
    author = await session.get(User, review.author_id)
    return MovieReviewPublic.of(review, author=author)


async def _locked(session: AsyncSession, review_id: uuid.UUID) -> MovieReview:
    review = await session.get(MovieReview, review_id, with_for_update=True, populate_existing=True)
    if review is None:
        raise NotFound(N_("No such review."))
    return review


async def create_review(
    tx: Tx, *, author: User, movie_id: uuid.UUID, data: MovieReviewCreate
) -> MovieReviewPublic:
    session = tx.session
    await _existing_movie(session, movie_id)
    now = clock.now()
    # The unique constraint settles two identical requests racing: the second inserts nothing.
    review_id = await session.scalar(
        insert(MovieReview)
        .values(
            id=uuid.uuid4(),
            movie_id=movie_id,
            author_id=author.id,
            score=data.score,
            text=data.text,
            likes_count=0,
            hidden=False,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_movie_review_once")
        .returning(col(MovieReview.id))
    )
    if review_id is None:
        raise AlreadyReviewed(
            N_("You have already reviewed this film: change that review instead.")
        )
    await _move_movie(session, movie_id, **_score_steps(data.score, +1))
    log.info("movie_review_created", review_id=str(review_id), movie_id=str(movie_id))
    return await _view(session, await _locked(session, review_id))


async def update_review(
    tx: Tx, *, user: User, review_id: uuid.UUID, data: MovieReviewUpdate
) -> MovieReviewPublic:
    session = tx.session
    review = await _locked(session, review_id)
    if review.author_id != user.id:
        raise Forbidden(N_("Only its author may change a review."))
    changes = data.model_dump(exclude_unset=True)
    old_score = review.score
    for field, value in changes.items():
        setattr(review, field, value)
    review.updated_at = clock.now()
    await session.flush()
    if not review.hidden and review.score != old_score:
        await _move_movie(session, review.movie_id, rating_sum=review.score - old_score)
    return await _view(session, review)


async def delete_review(tx: Tx, *, user: User, review_id: uuid.UUID) -> None:
    session = tx.session
    review = await _locked(session, review_id)
    if review.author_id != user.id:
        raise Forbidden(N_("Only its author may delete a review."))
    await session.delete(review)
    await session.flush()
    if not review.hidden:
        await _move_movie(session, review.movie_id, **_score_steps(review.score, -1))


async def list_reviews(
    session: AsyncSession, movie_id: uuid.UUID, sort: MovieReviewSort, page: PageParams
) -> tuple[list[MovieReviewPublic], Total]:
    """The film's visible reviews, most liked or newest first."""
    await _existing_movie(session, movie_id)
    order = (
        [col(MovieReview.likes_count).desc(), col(MovieReview.created_at).desc()]
        if sort == MovieReviewSort.likes_desc
        else [col(MovieReview.created_at).desc()]
    )
    query = (
        select(MovieReview, User)
        .join(User, col(User.id) == col(MovieReview.author_id))
        .where(col(MovieReview.movie_id) == movie_id, col(MovieReview.hidden).is_(False))
        .order_by(*order, col(MovieReview.id))
    )
    rows, total = await paginate_rows(session, query, page)
    return [MovieReviewPublic.of(review, author=author) for review, author in rows], total


async def review_by(
    session: AsyncSession, movie_id: uuid.UUID, author_id: uuid.UUID
) -> MovieReviewPublic | None:
    """The review `author` wrote of this film (hidden or not), if any."""
    found = await session.execute(
        select(MovieReview, User)
        .join(User, col(User.id) == col(MovieReview.author_id))
        .where(col(MovieReview.movie_id) == movie_id, col(MovieReview.author_id) == author_id)
    )
    row = found.first()
    return MovieReviewPublic.of(row[0], author=row[1]) if row else None


async def liked_among(
    session: AsyncSession, user_id: uuid.UUID, review_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these reviews the user likes."""
    if not review_ids:
        return set()
    found = await session.scalars(
        select(col(MovieReviewLike.review_id)).where(
            col(MovieReviewLike.user_id) == user_id,
            col(MovieReviewLike.review_id).in_(review_ids),
        )
    )
    return set(found)


# --- likes and moderation --------------------------------------------------------------------------


async def _likeable(session: AsyncSession, review_id: uuid.UUID, user: User) -> MovieReview:
    """The review, key-share locked until the like commits: a hide or a delete (FOR UPDATE) under
    way is waited for and then seen (404), and one that comes later waits for the like. Unlocked,
    a like raced a delete into a foreign-key violation (500) and a hide into a like of a hidden
    review."""
    review = await session.get(
        MovieReview,
        review_id,
        with_for_update={"read": True, "key_share": True},
        populate_existing=True,
    )
    if review is None or review.hidden:
        raise NotFound(N_("No such review."))
    if review.author_id == user.id:
        raise CannotLikeOwn()
    return review


async def _move_likes(session: AsyncSession, review_id: uuid.UUID, step: int) -> None:
    await session.execute(
        update(MovieReview)
        .where(col(MovieReview.id) == review_id)
        .values(likes_count=col(MovieReview.likes_count) + step)
        .execution_options(synchronize_session=False)
    )


async def like(tx: Tx, *, user: User, review_id: uuid.UUID) -> None:
    await _likeable(tx.session, review_id, user)
    added = await tx.session.scalar(
        insert(MovieReviewLike)
        .values(user_id=user.id, review_id=review_id, created_at=clock.now())
        .on_conflict_do_nothing()
        .returning(col(MovieReviewLike.review_id))
    )
    if added is not None:
        await _move_likes(tx.session, review_id, +1)


async def unlike(tx: Tx, *, user: User, review_id: uuid.UUID) -> None:
    await _likeable(tx.session, review_id, user)
    removed = await tx.session.scalar(
        delete(MovieReviewLike)
        .where(col(MovieReviewLike.user_id) == user.id, col(MovieReviewLike.review_id) == review_id)
        .returning(col(MovieReviewLike.review_id))
    )
    if removed is not None:
        await _move_likes(tx.session, review_id, -1)


async def set_hidden(
    tx: Tx, *, user: User, review_id: uuid.UUID, hidden: bool
) -> MovieReviewPublic:
    """Hide a review from lists and from the film's rating, or show it again (idempotent)."""
    if not can_moderate(user):
        raise Forbidden(N_("Only moderators and admins hide or unhide reviews."))
    session = tx.session
    review = await _locked(session, review_id)
    if review.hidden != hidden:
        review.hidden = hidden
        review.updated_at = clock.now()
        await session.flush()
        await _move_movie(
            session, review.movie_id, **_score_steps(review.score, -1 if hidden else +1)
        )
        log.info(
            "movie_review_hidden" if hidden else "movie_review_unhidden", review_id=str(review_id)
        )
    return await _view(session, review)
