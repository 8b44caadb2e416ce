"""announcement_language: what a meetup's film is shown in (soundtrack, subtitles)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "announcement",
        sa.Column("language", sa.String(length=100), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("announcement", "language")
