"""Rating after the meetup, on its page (/m/{id}): from its end and for REVIEW_WINDOW, the host
rates each approved guest and each approved guest rates the host, once each. The forms post to
`POST /m/{id}/reviews`, which calls the same service as the API (its rules and refusals)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.core import clock
from app.core.db import Transaction, Tx
from app.core.errors import AppError, NotFound
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus
from app.reviews import service as reviews_service
from app.reviews.schemas import ReviewCreate
from app.web.forms import guarded, member_post
from app.web.render import invalid, not_found, problem, redirect
from app.web.session import Visit, Visitor

router = APIRouter(include_in_schema=False)

SCORES = range(5, 0, -1)


@dataclass(frozen=True)
class Rateable:
    """Someone the visitor may rate for this meetup, and the score given if they did."""

    user_id: uuid.UUID
    name: str
    role: str  # "host" · "guest": the role the person had at the meetup
    given: int | None


async def rateable(
    tx: Tx, row: Announcement, view: Any, visit: Visitor, mine: Booking | None
) -> list[Rateable]:
    """Whom the visitor may rate now (empty outside the review window or for outsiders)."""
    user = visit.user
    if user is None or not row.in_review_window(clock.now()):
        return []
    if user.id == row.author_id:
        people = [(g.user_id, g.name, "guest") for g in view.guest_list]
    elif mine is not None and mine.status == BookingStatus.approved:
        people = [(view.author.id, view.author.name, "host")]
    else:
        return []
    given = await reviews_service.rated_by(tx.session, row.id, user.id)
    return [Rateable(uid, name, role, given.get(uid)) for uid, name, role in people]


@router.post("/m/{announcement_id}/reviews")
async def rate(
    request: Request, visit: Visit, tx: Transaction, announcement_id: uuid.UUID
) -> Response:
    post = await member_post(request, visit, f"/m/{announcement_id}")
    if isinstance(post, Response):
        return post
    fields = post.fields
    try:
        announcement = await reviews_service.get_announcement(tx.session, announcement_id)
        data = ReviewCreate.model_validate(
            {
                "target_user_id": fields["target_user_id"],
                "score": fields["score"],
                "comment": fields.raw("comment").replace("\r\n", "\n").strip() or None,
            }
        )
        async with guarded(tx):
            await reviews_service.create_review(
                tx, author=post.user, announcement=announcement, data=data
            )
    except NotFound:
        return not_found(visit)
    except ValidationError as exc:
        return invalid(visit, exc)
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, f"/m/{announcement_id}?done=rated")
