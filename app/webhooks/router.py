"""/api/v1/admin/webhooks and /api/v1/admin/webhook-deliveries: receivers of the outbox events,
and their deliveries (docs/webhooks.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.core.config import Settings
from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated, NotFound, errors
from app.core.pagination import Page, Pagination
from app.sessions.dependencies import AdminUser
from app.webhooks import service
from app.webhooks.errors import DeliveryInProgress, WebhookUrlRefused
from app.webhooks.schemas import (
    DeliveryView,
    WebhookCreate,
    WebhookCreated,
    WebhookUpdate,
    WebhookView,
)

router = APIRouter(prefix="/admin", tags=["webhooks"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]
ADMIN = (NotAuthenticated, Forbidden)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=errors(*ADMIN, WebhookUrlRefused),
)
async def create_webhook(
    body: WebhookCreate, admin: AdminUser, tx: Transaction, settings: AppSettings
) -> WebhookCreated:
    """Register a receiver of outbox events; the answer carries its signing secret, shown once."""
    return WebhookCreated.of(await service.create_endpoint(tx, admin, body, settings))


@router.get("/webhooks", response_model=Page[WebhookView], responses=errors(*ADMIN))
async def list_webhooks(_: AdminUser, tx: Transaction, page: Pagination) -> Page[WebhookView]:
    """The webhook endpoints, newest first (without their secrets)."""
    endpoints, total = await service.list_endpoints(tx.session, page)
    return Page(items=[WebhookView.of(e) for e in endpoints], total=total, **page.model_dump())


@router.get(
    "/webhooks/{webhook_id}", response_model=WebhookView, responses=errors(*ADMIN, NotFound)
)
async def get_webhook(webhook_id: uuid.UUID, _: AdminUser, tx: Transaction) -> WebhookView:
    """One webhook endpoint (without its secret)."""
    return WebhookView.of(await service.get_endpoint(tx.session, webhook_id))


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookView,
    responses=errors(*ADMIN, NotFound, WebhookUrlRefused),
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    _: AdminUser,
    tx: Transaction,
    settings: AppSettings,
) -> WebhookView:
    """Change an endpoint's URL, events, description, or switch it off and on."""
    return WebhookView.of(await service.update_endpoint(tx, webhook_id, body, settings))


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=errors(*ADMIN, NotFound))
async def delete_webhook(webhook_id: uuid.UUID, _: AdminUser, tx: Transaction) -> Response:
    """Remove an endpoint and its delivery history."""
    await service.delete_endpoint(tx, webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryView],
    responses=errors(*ADMIN, NotFound),
)
async def list_webhook_deliveries(
    webhook_id: uuid.UUID, _: AdminUser, tx: Transaction, page: Pagination
) -> Page[DeliveryView]:
    """An endpoint's deliveries, newest first: status, attempts, last answer or error, next try."""
    deliveries, total = await service.list_deliveries(tx.session, webhook_id, page)
    return Page(items=[DeliveryView.of(d) for d in deliveries], total=total, **page.model_dump())


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryView,
    responses=errors(*ADMIN, NotFound, DeliveryInProgress),
)
async def redeliver_webhook(delivery_id: uuid.UUID, _: AdminUser, tx: Transaction) -> DeliveryView:
    """Send a delivery again now (whatever its status), with a fresh retry schedule."""
    return DeliveryView.of(await service.redeliver(tx, delivery_id))
