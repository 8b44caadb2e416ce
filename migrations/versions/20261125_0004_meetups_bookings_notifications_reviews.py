"""meetups_bookings_notifications_reviews

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:32:39.619321+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "movie",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column(
            "genres", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False
        ),
        sa.Column("runtime_minutes", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movie")),
    )
    op.create_index("ix_movie_genres", "movie", ["genres"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_movie_search", "movie", ["search_vector"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "uq_movie_title_year", "movie", [sa.literal_column("lower(title)"), "year"], unique=True
    )
    op.create_table(
        "announcement",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("movie_id", sa.Uuid(), nullable=True),
        sa.Column("movie_title", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("tickets_count", sa.Integer(), nullable=False),
        sa.Column("approved_seats", sa.Integer(), server_default="0", nullable=False),
        sa.Column("waitlist_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("likes_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_free", sa.Boolean(), nullable=False),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("sub_only", sa.Boolean(), nullable=False),
        sa.Column("approval", sa.Enum("manual", "auto", name="approval_mode"), nullable=False),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=40)), server_default="{}", nullable=False
        ),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=1000), nullable=True),
        sa.Column("short_code", sa.String(length=16), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(movie_title, ''))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "approved_seats >= 0 AND approved_seats <= tickets_count", name="seat_invariant"
        ),
        sa.CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="duration_range"),
        sa.CheckConstraint("tickets_count BETWEEN 1 AND 1000", name="tickets_count_range"),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["movie_id"], ["movie.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("short_code"),
    )
    op.create_index(op.f("ix_announcement_author_id"), "announcement", ["author_id"], unique=False)
    op.create_index("ix_announcement_created", "announcement", ["created_at"], unique=False)
    op.create_index(op.f("ix_announcement_movie_id"), "announcement", ["movie_id"], unique=False)
    op.create_index(
        "ix_announcement_search",
        "announcement",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_announcement_tags", "announcement", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_announcement_upcoming",
        "announcement",
        ["event_time"],
        unique=False,
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.create_index(
        "uq_announcement_author_event_time",
        "announcement",
        ["author_id", "event_time"],
        unique=True,
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "route", "key"),
    )
    op.create_index(
        op.f("ix_idempotency_record_created_at"), "idempotency_record", ["created_at"], unique=False
    )
    op.create_table(
        "announcement_favorite",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcement.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "announcement_id"),
    )
    op.create_index(
        op.f("ix_announcement_favorite_announcement_id"),
        "announcement_favorite",
        ["announcement_id"],
        unique=False,
    )
    op.create_table(
        "announcement_like",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcement.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "announcement_id"),
    )
    op.create_index(
        op.f("ix_announcement_like_announcement_id"),
        "announcement_like",
        ["announcement_id"],
        unique=False,
    )
    op.create_table(
        "booking",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("guest_id", sa.Uuid(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "cancelled",
                "waitlisted",
                "expired",
                name="booking_status",
            ),
            nullable=False,
        ),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("short_code", sa.String(length=16), nullable=False),
        sa.CheckConstraint("seats BETWEEN 1 AND 10", name="seats_range"),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcement.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["guest_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("short_code"),
    )
    op.create_index(
        "ix_booking_announcement_status",
        "booking",
        ["announcement_id", "status", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_booking_guest_status", "booking", ["guest_id", "status", "event_time"], unique=False
    )
    op.create_index(
        "uq_booking_active_guest",
        "booking",
        ["announcement_id", "guest_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'approved', 'waitlisted')"),
    )
    op.create_table(
        "review",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column(
            "target_role", sa.Enum("host", "guest", name="review_target_role"), nullable=False
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.CheckConstraint("author_id <> target_id", name=op.f("ck_review_not_self")),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_review_score_range")),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcement.id"],
            name=op.f("fk_review_announcement_id_announcement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_review_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["user_account.id"],
            name=op.f("fk_review_target_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
        sa.UniqueConstraint("announcement_id", "author_id", "target_id", name="uq_review_once"),
    )
    op.create_index(op.f("ix_review_announcement_id"), "review", ["announcement_id"], unique=False)
    op.create_index(
        "ix_review_target_role", "review", ["target_id", "target_role", "created_at"], unique=False
    )
    op.create_table(
        "domain_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("announcement_id", sa.Uuid(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_domain_event_actor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcement.id"],
            name=op.f("fk_domain_event_announcement_id_announcement"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_domain_event_booking_id_booking"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_event")),
    )
    op.create_index(
        "ix_domain_event_unprocessed",
        "domain_event",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.String(length=5000), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("announcement_id", sa.Uuid(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcement.id"],
            name=op.f("fk_notification_announcement_id_announcement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_notification_booking_id_booking"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["domain_event.id"],
            name=op.f("fk_notification_event_id_domain_event"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_dedupe_key")),
    )
    op.create_index(
        "ix_notification_user_created", "notification", ["user_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_notification_user_unread",
        "notification",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.add_column("email_message", sa.Column("ics_attachment", sa.String(), nullable=True))
    op.add_column("email_message", sa.Column("notification_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_email_message_notification_id_notification"),
        "email_message",
        "notification",
        ["notification_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_email_message_notification_id_notification"), "email_message", type_="foreignkey"
    )
    op.drop_column("email_message", "notification_id")
    op.drop_column("email_message", "ics_attachment")
    op.drop_index(
        "ix_notification_user_unread",
        table_name="notification",
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.drop_index("ix_notification_user_created", table_name="notification")
    op.drop_table("notification")
    op.drop_index(
        "ix_domain_event_unprocessed",
        table_name="domain_event",
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_table("domain_event")
    op.drop_index("ix_review_target_role", table_name="review")
    op.drop_index(op.f("ix_review_announcement_id"), table_name="review")
    op.drop_table("review")
    op.drop_index(
        "uq_booking_active_guest",
        table_name="booking",
        postgresql_where=sa.text("status IN ('pending', 'approved', 'waitlisted')"),
    )
    op.drop_index("ix_booking_guest_status", table_name="booking")
    op.drop_index("ix_booking_announcement_status", table_name="booking")
    op.drop_table("booking")
    op.drop_index(op.f("ix_announcement_like_announcement_id"), table_name="announcement_like")
    op.drop_table("announcement_like")
    op.drop_index(
        op.f("ix_announcement_favorite_announcement_id"), table_name="announcement_favorite"
    )
    op.drop_table("announcement_favorite")
    op.drop_index(op.f("ix_idempotency_record_created_at"), table_name="idempotency_record")
    op.drop_table("idempotency_record")
    op.drop_index(
        "uq_announcement_author_event_time",
        table_name="announcement",
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.drop_index(
        "ix_announcement_upcoming",
        table_name="announcement",
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.drop_index("ix_announcement_tags", table_name="announcement", postgresql_using="gin")
    op.drop_index("ix_announcement_search", table_name="announcement", postgresql_using="gin")
    op.drop_index(op.f("ix_announcement_movie_id"), table_name="announcement")
    op.drop_index("ix_announcement_created", table_name="announcement")
    op.drop_index(op.f("ix_announcement_author_id"), table_name="announcement")
    op.drop_table("announcement")
    op.drop_index("uq_movie_title_year", table_name="movie")
    op.drop_index("ix_movie_search", table_name="movie", postgresql_using="gin")
    op.drop_index("ix_movie_genres", table_name="movie", postgresql_using="gin")
    op.drop_table("movie")
    for enum_name in ("approval_mode", "booking_status", "review_target_role"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
