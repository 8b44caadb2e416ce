"""auth_sessions_codes_follows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:38:26.391182+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("refresh_jti", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_auth_session_user_active",
        "auth_session",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "follow",
        sa.Column("follower_id", sa.Uuid(), nullable=False),
        sa.Column("followee_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("follower_id <> followee_id", name=op.f("ck_follow_not_self")),
        sa.ForeignKeyConstraint(
            ["followee_id"],
            ["user_account.id"],
            name=op.f("fk_follow_followee_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["user_account.id"],
            name=op.f("fk_follow_follower_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("follower_id", "followee_id", name=op.f("pk_follow")),
    )
    op.create_index("ix_follow_followee", "follow", ["followee_id", "created_at"], unique=False)
    op.create_table(
        "one_time_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("confirm_email", "reset_password", name="code_purpose"),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(
        "ix_one_time_code_user_purpose", "one_time_code", ["user_id", "purpose"], unique=False
    )
    op.add_column(
        "user_account",
        sa.Column("followers_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "user_account",
        sa.Column("following_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "user_account", sa.Column("hosted_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "user_account",
        sa.Column("host_rating_sum", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "user_account",
        sa.Column("host_rating_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "user_account",
        sa.Column("guest_rating_sum", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "user_account",
        sa.Column("guest_rating_count", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("user_account", "guest_rating_count")
    op.drop_column("user_account", "guest_rating_sum")
    op.drop_column("user_account", "host_rating_count")
    op.drop_column("user_account", "host_rating_sum")
    op.drop_column("user_account", "hosted_count")
    op.drop_column("user_account", "following_count")
    op.drop_column("user_account", "followers_count")
    op.drop_index("ix_one_time_code_user_purpose", table_name="one_time_code")
    op.drop_table("one_time_code")
    op.drop_index("ix_follow_followee", table_name="follow")
    op.drop_table("follow")
    op.drop_index(
        "ix_auth_session_user_active",
        table_name="auth_session",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.drop_table("auth_session")
    sa.Enum(name="code_purpose").drop(op.get_bind(), checkfirst=True)
