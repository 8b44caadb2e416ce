"""Films: the catalog (/films), a film's page (/films/{id}) with its upcoming meetups and its
reviews, and the forms of the film community: write, change or delete one's review (1..10 and a
text), like others' reviews. The posts call the same service as the API (app/movies/community.py:
its rules, counters and refusals) and redirect back to the film's page."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.announcements import queries as announcement_queries
from app.announcements.dependencies import AnnouncementFilters
from app.core import pagination
from app.core.db import Transaction, Tx
from app.core.errors import AppError, NotFound
from app.core.pagination import PageParams
from app.models.movies import MovieReview
from app.movies import community
from app.movies import service as movies_service
from app.movies.schemas import MovieReviewCreate, MovieReviewSort, MovieReviewUpdate, MovieSort
from app.web import community as web_community
from app.web.forms import MemberPost, guarded, member_post
from app.web.render import form_again, not_found, page, problem, redirect
from app.web.session import Visit, Visitor

router = APIRouter(include_in_schema=False)

FILMS_PER_PAGE = 24
REVIEWS_SHOWN = 20
SCORES = range(10, 0, -1)
# What the film page says after a post (`?done=`).
DONE = frozenset({"reviewed", "review_saved", "review_deleted"})


@router.get("/films")
async def films(visit: Visit, tx: Transaction, q: str = "", page_number: str = "1") -> Response:
    q = " ".join(q.split())[:200]
    number = pagination.page_number(page_number)
    params = PageParams(limit=FILMS_PER_PAGE, offset=(number - 1) * FILMS_PER_PAGE)
    movies, total = await movies_service.list_movies(
        tx.session, q=q or None, genre=None, sort=MovieSort.by_title, page=params
    )
    return page(
        visit,
        "films.html",
        movies=movies,
        q=q,
        page_number=number,
        has_next=params.offset + len(movies) < total,
        link=lambda n: "/films?" + urlencode({**({"q": q} if q else {}), "page_number": n}),
    )


async def _film_page(
    tx: Tx, visit: Visitor, movie_id: uuid.UUID, sort: MovieReviewSort
) -> dict[str, Any]:
    """Everything the film's page shows (NotFound for no such film)."""
    movie = await movies_service.movie_view(
        tx.session, await movies_service.get_movie(tx.session, movie_id)
    )
    reviews, _ = await community.list_reviews(
        tx.session, movie_id, sort, PageParams(limit=REVIEWS_SHOWN)
    )
    meetups, _ = await announcement_queries.list_announcements(
        tx.session, AnnouncementFilters(movie_id=movie_id), PageParams(limit=20)
    )
    user = visit.user
    mine = await community.review_by(tx.session, movie_id, user.id) if user else None
    liked = (
        await community.liked_among(tx.session, user.id, [r.id for r in reviews]) if user else set()
    )
    return {
        "movie": movie,
        "reviews": reviews,
        "sort": sort.value,
        "sorts": list(MovieReviewSort),
        "meetups": meetups,
        "mine": mine,
        "liked": liked,
        "scores": SCORES,
        "following": await web_community.follows_film(tx, movie_id, visit),
    }


@router.get("/films/{movie_id}")
async def film(
    visit: Visit, tx: Transaction, movie_id: uuid.UUID, sort: str = "", done: str = ""
) -> Response:
    order = MovieReviewSort(sort) if sort in set(MovieReviewSort) else MovieReviewSort.likes_desc
    try:
        context = await _film_page(tx, visit, movie_id, order)
    except NotFound:
        return not_found(visit)
    return page(visit, "film.html", done=done if done in DONE else "", form={}, **context)


@router.post("/films/{movie_id}/review")
async def save_review(
    request: Request, visit: Visit, tx: Transaction, movie_id: uuid.UUID
) -> Response:
    """Write the visitor's review of the film, or change it if they wrote one (one per film)."""
    back = f"/films/{movie_id}"
    post = await member_post(request, visit, back)
    if isinstance(post, Response):
        return post
    fields = post.fields
    values: dict[str, Any] = {
        "score": fields["score"],
        "text": fields.raw("text").replace("\r\n", "\n").strip() or None,
    }
    try:
        mine = await community.review_by(tx.session, movie_id, post.user.id)
        async with guarded(tx):
            if mine is None:
                await community.create_review(
                    tx,
                    author=post.user,
                    movie_id=movie_id,
                    data=MovieReviewCreate.model_validate(values),
                )
            else:
                await community.update_review(
                    tx,
                    user=post.user,
                    review_id=mine.id,
                    data=MovieReviewUpdate.model_validate(values),
                )
    except NotFound:
        return not_found(visit)
    except (ValidationError, AppError) as exc:
        context = await _film_page(tx, visit, movie_id, MovieReviewSort.likes_desc)
        return form_again(visit, "film.html", exc, done="", form=fields.as_dict(), **context)
    return redirect(visit, f"{back}?done={'reviewed' if mine is None else 'review_saved'}#mine")


async def _review_post(
    request: Request, visit: Visitor, tx: Tx, review_id: uuid.UUID
) -> tuple[MemberPost, str] | Response:
    """A member's post about a review, and its film's page to go back to; or the answer to give
    instead (404 for no such review, else member_post's). Who may do what to it (a hidden review
    cannot be liked, only its author deletes it) is the service's rule."""
    review = await tx.session.get(MovieReview, review_id)
    if review is None:
        return not_found(visit)
    back = f"/films/{review.movie_id}"
    post = await member_post(request, visit, back)
    return post if isinstance(post, Response) else (post, back)


@router.post("/films/reviews/{review_id}/delete")
async def delete_review(
    request: Request, visit: Visit, tx: Transaction, review_id: uuid.UUID
) -> Response:
    asked = await _review_post(request, visit, tx, review_id)
    if isinstance(asked, Response):
        return asked
    post, back = asked
    try:
        async with guarded(tx):
            await community.delete_review(tx, user=post.user, review_id=review_id)
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, f"{back}?done=review_deleted")


@router.post("/films/reviews/{review_id}/like")
async def like_review(
    request: Request, visit: Visit, tx: Transaction, review_id: uuid.UUID
) -> Response:
    """Like (field `on` set) or stop liking someone else's review of a film."""
    asked = await _review_post(request, visit, tx, review_id)
    if isinstance(asked, Response):
        return asked
    post, back = asked
    try:
        async with guarded(tx):
            if post.fields.checked("on"):
                await community.like(tx, user=post.user, review_id=review_id)
            else:
                await community.unlike(tx, user=post.user, review_id=review_id)
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, f"{back}#review-{review_id}")
