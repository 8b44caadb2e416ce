"""/api/v1/users: profiles and following."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.core.db import Transaction
from app.core.errors import NotAuthenticated, NotFound, errors
from app.core.pagination import Page, Pagination
from app.sessions.dependencies import CurrentUser
from app.users import service
from app.users.errors import CannotFollowSelf
from app.users.schemas import UserPrivate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

FOLLOW_ERRORS = errors(CannotFollowSelf, NotAuthenticated, NotFound)


@router.patch("/me", response_model=UserPrivate, responses=errors(NotAuthenticated))
async def update_me(body: UserUpdate, user: CurrentUser, tx: Transaction) -> UserPrivate:
    """Change the caller's name, bio or email preference."""
    return UserPrivate.of(await service.update_me(tx, user, body))


@router.get("/{user_id}", response_model=UserPublic, responses=errors(NotFound))
async def get_user(user_id: uuid.UUID, tx: Transaction) -> UserPublic:
    """A public profile."""
    return UserPublic.of(await service.get_active_user(tx.session, user_id))


@router.put("/{user_id}/follow", status_code=204, responses=FOLLOW_ERRORS)
async def follow_user(user_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Follow a user (idempotent)."""
    await service.follow(tx, user, user_id)
    return Response(status_code=204)


@router.delete("/{user_id}/follow", status_code=204, responses=FOLLOW_ERRORS)
async def unfollow_user(user_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> Response:
    """Stop following a user (idempotent)."""
    await service.unfollow(tx, user, user_id)
    return Response(status_code=204)


@router.get("/{user_id}/followers", response_model=Page[UserPublic], responses=errors(NotFound))
async def list_followers(user_id: uuid.UUID, page: Pagination, tx: Transaction) -> Page[UserPublic]:
    """Who follows this user, newest first."""
    users, total = await service.list_followers(tx.session, user_id, page)
    return Page(items=[UserPublic.of(u) for u in users], total=total, **page.model_dump())


@router.get("/{user_id}/following", response_model=Page[UserPublic], responses=errors(NotFound))
async def list_following(user_id: uuid.UUID, page: Pagination, tx: Transaction) -> Page[UserPublic]:
    """Whom this user follows, newest first."""
    users, total = await service.list_following(tx.session, user_id, page)
    return Page(items=[UserPublic.of(u) for u in users], total=total, **page.model_dump())


@router.get("/{user_id}/friends", response_model=Page[UserPublic], responses=errors(NotFound))
async def list_friends(user_id: uuid.UUID, page: Pagination, tx: Transaction) -> Page[UserPublic]:
    """The user's friends: those who follow them and whom they follow, newest friendship first."""
    users, total = await service.list_friends(tx.session, user_id, page)
    return Page(items=[UserPublic.of(u) for u in users], total=total, **page.model_dump())
