"""Toggle forms for the community features: like and favorite a meetup (on /m/{id}), follow a
film (on /films/{id}) and a person (on /u/{id}). Each posts with its CSRF token and redirects back
to its page; the pages ask `meetup_marks` / `follows_film` / `follows_person` for the state."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import col

from app.announcements import service as announcement_service
from app.core.db import Transaction, Tx
from app.core.errors import AppError
from app.models.announcements import Announcement, AnnouncementFavorite, AnnouncementLike
from app.models.movies import MovieFollow
from app.movies import community as movie_community
from app.users import service as users_service
from app.web.forms import guarded, member_post
from app.web.render import not_found, problem, redirect
from app.web.session import Visit, Visitor

router = APIRouter(include_in_schema=False)


async def _marked(
    tx: Tx,
    table: type[AnnouncementLike] | type[AnnouncementFavorite],
    user_id: uuid.UUID,
    announcement_id: uuid.UUID,
) -> bool:
    found = await tx.session.scalar(
        select(col(table.user_id)).where(
            col(table.user_id) == user_id, col(table.announcement_id) == announcement_id
        )
    )
    return found is not None


async def meetup_marks(tx: Tx, announcement_id: uuid.UUID, visit: Visitor) -> dict[str, bool]:
    """Whether the visitor likes the meetup and has it among their favorites."""
    if visit.user is None:
        return {"liked": False, "favorited": False}
    return {
        "liked": await _marked(tx, AnnouncementLike, visit.user.id, announcement_id),
        "favorited": await _marked(tx, AnnouncementFavorite, visit.user.id, announcement_id),
    }


async def follows_film(tx: Tx, movie_id: uuid.UUID, visit: Visitor) -> bool:
    if visit.user is None:
        return False
    found = await tx.session.scalar(
        select(col(MovieFollow.movie_id)).where(
            col(MovieFollow.user_id) == visit.user.id, col(MovieFollow.movie_id) == movie_id
        )
    )
    return found is not None


async def follows_person(tx: Tx, user_id: uuid.UUID, visit: Visitor) -> bool:
    if visit.user is None or visit.user.id == user_id:
        return False
    return await users_service.is_following(tx.session, visit.user.id, user_id)


async def _toggle(request: Request, visit: Visitor, tx: Tx, back: str, what: str) -> Response:
    """Check the form, then turn `what` on (field `on` set) or off for the visitor."""
    post = await member_post(request, visit, back)
    if isinstance(post, Response):
        return post
    user, on = post.user, post.fields.checked("on")
    target = uuid.UUID(back.rsplit("/", 1)[1])
    try:
        async with guarded(tx):
            match what, on:
                case "like", True:
                    await announcement_service.like(tx, user=user, announcement_id=target)
                case "like", False:
                    await announcement_service.unlike(tx, user=user, announcement_id=target)
                case "favorite", True:
                    await announcement_service.add_favorite(tx, user=user, announcement_id=target)
                case "favorite", False:
                    await announcement_service.remove_favorite(
                        tx, user=user, announcement_id=target
                    )
                case "film", True:
                    await movie_community.follow(tx, user, target)
                case "film", False:
                    await movie_community.unfollow(tx, user, target)
                case _, True:
                    await users_service.follow(tx, user, target)
                case _:
                    await users_service.unfollow(tx, user, target)
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, back)


async def _meetup_toggle(
    request: Request, visit: Visitor, tx: Tx, announcement_id: uuid.UUID, what: str
) -> Response:
    if await tx.session.get(Announcement, announcement_id) is None:
        return not_found(visit)
    return await _toggle(request, visit, tx, f"/m/{announcement_id}", what)


@router.post("/m/{announcement_id}/like")
async def like(
    request: Request, visit: Visit, tx: Transaction, announcement_id: uuid.UUID
) -> Response:
    return await _meetup_toggle(request, visit, tx, announcement_id, "like")


@router.post("/m/{announcement_id}/favorite")
async def favorite(
    request: Request, visit: Visit, tx: Transaction, announcement_id: uuid.UUID
) -> Response:
    return await _meetup_toggle(request, visit, tx, announcement_id, "favorite")


@router.post("/films/{movie_id}/follow")
async def follow_film(
    request: Request, visit: Visit, tx: Transaction, movie_id: uuid.UUID
) -> Response:
    return await _toggle(request, visit, tx, f"/films/{movie_id}", "film")


@router.post("/u/{user_id}/follow")
async def follow_person(
    request: Request, visit: Visit, tx: Transaction, user_id: uuid.UUID
) -> Response:
    return await _toggle(request, visit, tx, f"/u/{user_id}", "person")
