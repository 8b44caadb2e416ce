"""follow_followee_follower: a host's followers in follower-id order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000+00:00

The announcement fan-out walks a host's followers by follower id from a cursor, a batch at a
time. `ix_follow_followee` (followee_id, created_at) gives them in another order (every batch read
and sorted all of them) and the primary key (follower_id, followee_id) scans every follow past the
cursor: with (followee_id, follower_id) a batch reads only the entries it takes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_follow_followee_follower", "follow", ["followee_id", "follower_id"])


def downgrade() -> None:
    op.drop_index("ix_follow_followee_follower", table_name="follow")
