"""webhooks: endpoints, one delivery per (event, endpoint), the dispatch marks and their cursor

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:00:00.000000+00:00

The sweep's cursor starts now: events older than this migration go to no endpoint (an endpoint
only receives events created after it anyway).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_webhook_endpoint_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_kind", sa.String(length=50), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "delivered", "failed", name="webhook_delivery_status"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "event_id", "endpoint_id", name=op.f("uq_webhook_delivery_event_id_endpoint_id")
        ),
    )
    op.create_index(
        "ix_webhook_delivery_due",
        "webhook_delivery",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=PENDING,
    )
    op.create_index(
        "ix_webhook_delivery_endpoint_created",
        "webhook_delivery",
        ["endpoint_id", sa.text("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_webhook_delivery_created",
        "webhook_delivery",
        [sa.text("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "webhook_event_dispatch",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_event_dispatch")),
    )
    op.create_index(
        "ix_webhook_event_dispatch_event_created",
        "webhook_event_dispatch",
        ["event_created_at"],
        unique=False,
    )
    op.create_table(
        "webhook_sweep_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("swept_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_sweep_cursor")),
    )
    op.execute("INSERT INTO webhook_sweep_cursor (id, swept_until) VALUES (1, now())")
    op.create_index("ix_domain_event_created_at", "domain_event", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_domain_event_created_at", table_name="domain_event")
    op.drop_table("webhook_sweep_cursor")
    op.drop_index("ix_webhook_event_dispatch_event_created", table_name="webhook_event_dispatch")
    op.drop_table("webhook_event_dispatch")
    op.drop_index("ix_webhook_delivery_created", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_endpoint_created", table_name="webhook_delivery")
    op.drop_index(
        "ix_webhook_delivery_due", table_name="webhook_delivery", postgresql_where=PENDING
    )
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
    sa.Enum(name="webhook_delivery_status").drop(op.get_bind(), checkfirst=True)
