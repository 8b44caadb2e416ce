"""list_indexes: an index for every order and filter of the lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00.000000+00:00

The upcoming meetups in each order the list offers (event_time with is_free and sub_only inside
the index, -created, -likes, -host_rating through the authors' index with the id included), the
full and the cancelled ones (with statistics on the seats left, so that the planner knows how few
are full), a user's favorites and the booking lists newest first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("cancelled_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_announcement_upcoming", table_name="announcement")
    op.create_index(
        "ix_announcement_upcoming",
        "announcement",
        ["event_time", "is_free", "sub_only"],
        unique=False,
        postgresql_where=LIVE,
    )
    op.drop_index("uq_announcement_author_event_time", table_name="announcement")
    op.create_index(
        "uq_announcement_author_event_time",
        "announcement",
        ["author_id", "event_time"],
        unique=True,
        postgresql_include=["id"],
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_announcement_upcoming_created",
        "announcement",
        [sa.text("created_at DESC"), "id", "event_time"],
        unique=False,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_announcement_upcoming_likes",
        "announcement",
        [sa.text("likes_count DESC"), "event_time", "id"],
        unique=False,
        postgresql_where=LIVE,
    )
    # "Full" as a generated column: the index below reads it instead of the seat counters, so a
    # booking's update of the counters stays a HOT update unless it fills or unfills the meetup,
    # and the planner has real statistics for it (a comparison of two columns would be taken for
    # a third of the rows).
    op.add_column(
        "announcement",
        sa.Column(
            "is_full",
            sa.Boolean(),
            sa.Computed("approved_seats >= tickets_count", persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_announcement_full",
        "announcement",
        ["event_time"],
        unique=False,
        postgresql_where=sa.text("cancelled_at IS NULL AND is_full"),
    )
    op.create_index(
        "ix_announcement_cancelled",
        "announcement",
        ["event_time"],
        unique=False,
        postgresql_where=sa.text("cancelled_at IS NOT NULL"),
    )
    op.create_index(
        "ix_announcement_favorite_user_created",
        "announcement_favorite",
        ["user_id", sa.text("created_at DESC"), "announcement_id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_guest_created",
        "booking",
        ["guest_id", sa.text("created_at DESC"), "id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_announcement_created",
        "booking",
        ["announcement_id", sa.text("created_at DESC"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_booking_announcement_created", table_name="booking")
    op.drop_index("ix_booking_guest_created", table_name="booking")
    op.drop_index("ix_announcement_favorite_user_created", table_name="announcement_favorite")
    op.drop_index("ix_announcement_cancelled", table_name="announcement")
    op.drop_index("ix_announcement_full", table_name="announcement")
    op.drop_column("announcement", "is_full")
    op.drop_index("ix_announcement_upcoming_likes", table_name="announcement")
    op.drop_index("ix_announcement_upcoming_created", table_name="announcement")
    op.drop_index("uq_announcement_author_event_time", table_name="announcement")
    op.create_index(
        "uq_announcement_author_event_time",
        "announcement",
        ["author_id", "event_time"],
        unique=True,
        postgresql_where=LIVE,
    )
    op.drop_index("ix_announcement_upcoming", table_name="announcement")
    op.create_index(
        "ix_announcement_upcoming",
        "announcement",
        ["event_time"],
        unique=False,
        postgresql_where=LIVE,
    )
