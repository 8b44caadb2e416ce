"""/api/v1/notifications: the caller's in-app inbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.db import Transaction
from app.core.errors import NotAuthenticated, NotFound, errors
from app.core.pagination import Pagination
from app.notifications import service
from app.notifications.schemas import NotificationPage, NotificationPublic
from app.sessions.dependencies import CurrentUser

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationPage, responses=errors(NotAuthenticated))
async def list_notifications(
    user: CurrentUser,
    tx: Transaction,
    page: Pagination,
    unread: Annotated[
        bool | None,
        Query(description="true: only unread; false: only read; absent: all"),
    ] = None,
) -> NotificationPage:
    """The caller's notifications, newest first, with the unread count."""
    rows, total, unread_count = await service.list_notifications(
        tx.session, user, unread=unread, page=page
    )
    return NotificationPage(
        items=[NotificationPublic.of(n) for n in rows],
        total=total,
        unread_count=unread_count,
        **page.model_dump(),
    )


@router.post("/read-all", status_code=204, responses=errors(NotAuthenticated))
async def mark_all_notifications_read(user: CurrentUser, tx: Transaction) -> Response:
    """Mark every notification of the caller read."""
    await service.mark_all_read(tx.session, user)
    return Response(status_code=204)


@router.post(
    "/{notification_id}/read", status_code=204, responses=errors(NotAuthenticated, NotFound)
)
async def mark_notification_read(
    notification_id: uuid.UUID, user: CurrentUser, tx: Transaction
) -> Response:
    """Mark one notification read (idempotent)."""
    await service.mark_read(tx.session, user, notification_id)
    return Response(status_code=204)
