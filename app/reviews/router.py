"""/api/v1 reviews: the host and the approved guests of a finished meetup rate each other;
moderators hide and unhide; authors delete their own.

Documented choices where the contract is silent:
- The review window is [ends_at, ends_at + 30 days], both ends included. A cancelled meetup never
  finished, so it is never open for reviews (the participant check comes first: its guests'
  bookings are cancelled with it).
- `hidden` is always in the body. Hidden reviews are listed only to moderators and admins, so
  everyone else only ever sees `hidden: false`.
- `GET /users/{id}/reviews` without `as` lists the reviews received in both roles.
- Only its author deletes a review (another user, moderators included, gets a 403: moderators
  hide instead). Errors follow the contract's order 401, 404, 422, 403, 409, so an
  unknown review is 404 even for a member without the moderator role.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from app.core.db import Transaction
from app.core.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotAuthenticated,
    NotFound,
    errors,
)
from app.core.idempotency import Idempotent
from app.core.pagination import Page, Pagination
from app.models.announcements import Announcement
from app.models.reviews import TargetRole
from app.reviews import service
from app.reviews.errors import AlreadyReviewed, NotAParticipant, ReviewWindowClosed
from app.reviews.schemas import ReviewCreate, ReviewPublic
from app.sessions.dependencies import CurrentUser, OptionalUser

router = APIRouter(tags=["reviews"])


CREATE_ERRORS = errors(
    NotAuthenticated,
    NotFound,
    IdempotencyKeyReused,
    NotAParticipant,
    ReviewWindowClosed,
    AlreadyReviewed,
)
MODERATE_ERRORS = errors(NotAuthenticated, NotFound, Forbidden)


async def _announcement(announcement_id: uuid.UUID, tx: Transaction) -> Announcement:
    # A dependency, so an unknown announcement (404) wins over an invalid body (422).
    return await service.get_announcement(tx.session, announcement_id)


@router.post(
    "/announcements/{announcement_id}/reviews",
    status_code=201,
    response_model=ReviewPublic,
    responses=CREATE_ERRORS,
)
async def create_review(
    user: CurrentUser,
    announcement: Annotated[Announcement, Depends(_announcement)],
    body: ReviewCreate,
    tx: Transaction,
    once: Idempotent,
) -> ReviewPublic | JSONResponse:
    """Rate the host or an approved guest of a meetup that ended in the last 30 days."""

    work = service.create_review(tx, author=user, announcement=announcement, data=body)
    return await once(user.id, work, body)


@router.get(
    "/announcements/{announcement_id}/reviews",
    response_model=Page[ReviewPublic],
    responses=errors(NotAuthenticated, NotFound),
)
async def list_announcement_reviews(
    announcement_id: uuid.UUID, viewer: OptionalUser, tx: Transaction, page: Pagination
) -> Page[ReviewPublic]:
    """Reviews of a meetup, newest first (hidden ones only for moderators and admins)."""
    items, total = await service.list_for_announcement(tx.session, announcement_id, viewer, page)
    return Page(items=items, total=total, **page.model_dump())


@router.get(
    "/users/{user_id}/reviews",
    response_model=Page[ReviewPublic],
    responses=errors(NotAuthenticated, NotFound),
)
async def list_user_reviews(
    user_id: uuid.UUID,
    viewer: OptionalUser,
    tx: Transaction,
    page: Pagination,
    role: Annotated[
        TargetRole | None,
        Query(alias="as", description="Received as `host` or as `guest`; both when omitted"),
    ] = None,
) -> Page[ReviewPublic]:
    """Reviews a user received, newest first (hidden ones only for moderators and admins)."""
    items, total = await service.list_for_user(tx.session, user_id, role, viewer, page)
    return Page(items=items, total=total, **page.model_dump())


@router.post(
    "/reviews/{review_id}/hide",
    response_model=ReviewPublic,
    responses=MODERATE_ERRORS,
)
async def hide_review(review_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> ReviewPublic:
    """Hide a review from lists and ratings (moderators, admins; idempotent)."""
    return await service.set_hidden(tx, user=user, review_id=review_id, hidden=True)


@router.post(
    "/reviews/{review_id}/unhide",
    response_model=ReviewPublic,
    responses=MODERATE_ERRORS,
)
async def unhide_review(review_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> ReviewPublic:
    """Show a hidden review again and count it (moderators, admins; idempotent)."""
    return await service.set_hidden(tx, user=user, review_id=review_id, hidden=False)


@router.delete(
    "/reviews/{review_id}",
    status_code=204,
    responses=MODERATE_ERRORS,
)
async def delete_review(review_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Delete one's own review."""
    await service.delete_review(tx, user=user, review_id=review_id)
    return Response(status_code=204)
