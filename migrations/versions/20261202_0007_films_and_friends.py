"""films_and_friends: film follows, film reviews and their likes; film and friend aggregates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00.000000+00:00

friends_count is backfilled from the follows that already are mutual.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    op.add_column("user_account", _counter("friends_count"))
    for name in ("followers_count", "rating_sum", "rating_count"):
        op.add_column("movie", _counter(name))
    op.create_table(
        "movie_follow",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("movie_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["movie_id"], ["movie.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "movie_id"),
    )
    op.create_index("ix_movie_follow_movie_user", "movie_follow", ["movie_id", "user_id"])
    op.create_table(
        "movie_review",
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("movie_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=True),
        _counter("likes_count"),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 10", name="movie_score_range"),
        sa.ForeignKeyConstraint(["movie_id"], ["movie.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("movie_id", "author_id", name="uq_movie_review_once"),
    )
    op.create_index("ix_movie_review_author_id", "movie_review", ["author_id"])
    op.create_index("ix_movie_review_movie_created", "movie_review", ["movie_id", "created_at"])
    op.create_index(
        "ix_movie_review_movie_likes", "movie_review", ["movie_id", "likes_count", "created_at"]
    )
    op.create_table(
        "movie_review_like",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["review_id"], ["movie_review.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "review_id"),
    )
    op.create_index("ix_movie_review_like_review_id", "movie_review_like", ["review_id"])
    op.execute(
        """
        UPDATE user_account u SET friends_count = mutual.n
        FROM (
            SELECT a.follower_id AS user_id, count(*) AS n
            FROM follow a JOIN follow b
              ON b.follower_id = a.followee_id AND b.followee_id = a.follower_id
            GROUP BY a.follower_id
        ) mutual
        WHERE u.id = mutual.user_id
        """
    )


def downgrade() -> None:
    op.drop_table("movie_review_like")
    op.drop_table("movie_review")
    op.drop_table("movie_follow")
    for name in ("rating_count", "rating_sum", "followers_count"):
        op.drop_column("movie", name)
    op.drop_column("user_account", "friends_count")
