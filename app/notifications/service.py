"""The in-app inbox: list, mark one read, mark all read."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.pagination import PageParams, paginate_rows
from app.models.notifications import Notification
from app.models.users import User


async def list_notifications(
    session: AsyncSession, user: User, *, unread: bool | None, page: PageParams
) -> tuple[list[Notification], int, int]:
    """The page (newest first), its total, and the caller's unread count."""
    query = select(Notification).where(col(Notification.user_id) == user.id)
    if unread is True:
        query = query.where(col(Notification.read_at).is_(None))
    elif unread is False:
        query = query.where(col(Notification.read_at).is_not(None))
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    rows, total = await paginate_rows(session, query, page)
    unread_count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
    )
    return rows, total, int(unread_count or 0)


async def mark_read(session: AsyncSession, user: User, notification_id: uuid.UUID) -> None:
    """Idempotent; someone else's notification is a 404, as if it did not exist."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(N_("No such notification."))
    if notification.read_at is None:
        notification.read_at = clock.now()


async def mark_all_read(session: AsyncSession, user: User) -> None:
    await session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=clock.now())
    )
