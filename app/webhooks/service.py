"""Webhook endpoints (register, list, change, remove), their deliveries, and redelivery.

Nothing here sends anything: deliveries are made by the worker from the outbox
(app/webhooks/dispatch.py), so no request ever waits for a receiver.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.config import Settings
from app.core.db import Tx
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.logging import get_logger
from app.core.pagination import PageParams, Total, paginate_rows
from app.models.users import User
from app.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks import addresses, signing
from app.webhooks.dispatch import DELIVER_JOB, delivery_job_id
from app.webhooks.errors import DeliveryInProgress
from app.webhooks.schemas import WebhookCreate, WebhookUpdate

log = get_logger(__name__)


async def create_endpoint(
    tx: Tx, admin: User, body: WebhookCreate, settings: Settings
) -> WebhookEndpoint:
    await addresses.check(body.url, settings)
    endpoint = WebhookEndpoint(
        url=body.url,
        events=[str(kind) for kind in body.events],
        description=body.description,
        secret=signing.new_secret(),
        created_by=admin.id,
    )
    tx.session.add(endpoint)
    await tx.session.flush()
    log.info("webhook_created", endpoint_id=str(endpoint.id), events=endpoint.events)
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(N_("No such webhook endpoint."))
    return endpoint


async def list_endpoints(
    session: AsyncSession, page: PageParams
) -> tuple[list[WebhookEndpoint], Total]:
    query = select(WebhookEndpoint).order_by(
        col(WebhookEndpoint.created_at).desc(), col(WebhookEndpoint.id)
    )
    return await paginate_rows(session, query, page)


async def update_endpoint(
    tx: Tx, endpoint_id: uuid.UUID, body: WebhookUpdate, settings: Settings
) -> WebhookEndpoint:
    endpoint = await tx.session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise NotFound(N_("No such webhook endpoint."))
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes and changes["url"] != endpoint.url:
        await addresses.check(changes["url"], settings)
    if "events" in changes:
        changes["events"] = [str(kind) for kind in changes["events"]]
    for field, value in changes.items():
        setattr(endpoint, field, value)
    await tx.session.flush()
    log.info("webhook_updated", endpoint_id=str(endpoint.id), fields=sorted(changes))
    return endpoint


async def delete_endpoint(tx: Tx, endpoint_id: uuid.UUID) -> None:
    """Remove the endpoint and its deliveries (a running attempt finds its delivery gone)."""
    endpoint = await get_endpoint(tx.session, endpoint_id)
    await tx.session.delete(endpoint)
    await tx.session.flush()
    log.info("webhook_deleted", endpoint_id=str(endpoint_id))


async def list_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, page: PageParams
) -> tuple[list[WebhookDelivery], Total]:
    await get_endpoint(session, endpoint_id)
    query = (
        select(WebhookDelivery)
        .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
    )
    return await paginate_rows(session, query, page)


async def redeliver(tx: Tx, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Make a delivery (delivered, failed or pending) due now, with a fresh retry schedule, and
    enqueue its job. Refused while a worker is sending it."""
    now = clock.now()
    delivery = (
        await tx.session.scalars(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                or_(
                    col(WebhookDelivery.claimed_until).is_(None),
                    col(WebhookDelivery.claimed_until) <= now,
                ),
            )
            .values(
                status=DeliveryStatus.pending,
                attempts=0,
                next_attempt_at=now,
                claimed_until=None,
                claim_token=None,
                updated_at=now,
            )
            .returning(WebhookDelivery)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if delivery is None:
        if await tx.session.get(WebhookDelivery, delivery_id) is None:
            raise NotFound(N_("No such webhook delivery."))
        raise DeliveryInProgress()
    tx.enqueue_after_commit(
        DELIVER_JOB,
        str(delivery.id),
        job_id=delivery_job_id(delivery.id, f"redeliver:{uuid.uuid4().hex[:12]}"),
    )
    log.info("webhook_redelivery", delivery_id=str(delivery.id))
    return delivery


@dataclass(frozen=True)
class RecentDelivery:
    """A row of the /admin page's webhook section."""

    delivery: WebhookDelivery
    url: str


async def recent_deliveries(
    session: AsyncSession,
    *,
    status: DeliveryStatus | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[RecentDelivery], int]:
    """(a page of every endpoint's deliveries, newest first, and how many there are): the
    console's list."""
    where = [] if status is None else [col(WebhookDelivery.status) == status]
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where))
    rows = await session.execute(
        select(WebhookDelivery, col(WebhookEndpoint.url))
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(*where)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
        .offset(offset)
        .limit(limit)
    )
    return [RecentDelivery(delivery, url) for delivery, url in rows.all()], int(total or 0)
