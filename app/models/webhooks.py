"""Webhooks: the endpoints admins register, one delivery per (outbox event, endpoint), and the
worker's bookkeeping of which events it has matched against the endpoints.

No table here has a foreign key to `domain_event`, on purpose: checking one takes a FOR KEY SHARE
lock on the event row, and the notifications worker locks that row FOR UPDATE SKIP LOCKED, so it
would skip (and leave to its minute sweep) every event whose webhooks are being dispatched at the
same moment. Outbox events are never deleted, so nothing dangles.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.models import TimestampedTable


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # to be tried (again) at next_attempt_at
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # every attempt failed (or the endpoint was deactivated); redeliverable


class WebhookEndpoint(TimestampedTable, table=True):
    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(max_length=2000)
    # EventKind values this endpoint receives.
    events: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(50)), nullable=False)
    )
    description: str = Field(default="", max_length=500)
    # `whsec_<base64>`: the worker needs it to sign, so it is stored as is; the API shows it once.
    secret: str = Field(max_length=100)
    active: bool = Field(default=True)
    created_by: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
    )


class WebhookDelivery(TimestampedTable, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # Exactly one delivery per event and endpoint, whatever retries or workers do.
        UniqueConstraint("event_id", "endpoint_id"),
        # The sweep's query: what is due.
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # GET /admin/webhooks/{id}/deliveries, and the /admin page's recent ones: newest first.
        Index("ix_webhook_delivery_endpoint_created", "endpoint_id", text("created_at DESC")),
        Index("ix_webhook_delivery_created", text("created_at DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    endpoint_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), nullable=False)
    )
    event_id: uuid.UUID  # domain_event.id (no foreign key: see the module's docstring)
    event_kind: str = Field(max_length=50)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.pending,
        sa_column=Column(
            SAEnum(
                DeliveryStatus,
                name="webhook_delivery_status",
                values_callable=lambda e: [m.value for m in e],
            ),
            nullable=False,
        ),
    )
    # Attempts since the delivery was created or last redelivered by an admin.
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(
        default_factory=clock.now, sa_type=DateTime(timezone=True), nullable=True
    )
    last_attempt_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=2000)
    delivered_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )
    # The claim of the job sending it right now: no other job sends it until claimed_until.
    claimed_until: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )
    claim_token: uuid.UUID | None = Field(default=None)


class WebhookEventDispatch(SQLModel, table=True):
    """An outbox event matched against the endpoints (its deliveries written): inserted in the
    transaction that writes them, so an event is dispatched once. Rows older than the sweep's
    cursor (minus its margin) are no longer read and are deleted by the sweep."""

    __tablename__ = "webhook_event_dispatch"
    __table_args__ = (Index("ix_webhook_event_dispatch_event_created", "event_created_at"),)

    event_id: uuid.UUID = Field(primary_key=True)
    event_created_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    dispatched_at: datetime = Field(
        default_factory=clock.now, sa_type=DateTime(timezone=True), nullable=False
    )


class WebhookSweepCursor(SQLModel, table=True):
    """One row: every outbox event created before `swept_until` minus the sweep's margin has been
    dispatched (the sweep looks only at events after that)."""

    __tablename__ = "webhook_sweep_cursor"

    id: int = Field(default=1, primary_key=True)
    swept_until: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
