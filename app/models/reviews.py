"""Reviews between the host and the approved guests of a finished meetup."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field

from app.core.models import TimestampedTable


class TargetRole(enum.StrEnum):
    host = "host"
    guest = "guest"


class Review(TimestampedTable, table=True):
    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("announcement_id", "author_id", "target_id", name="uq_review_once"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        CheckConstraint("author_id <> target_id", name="not_self"),
        Index("ix_review_target_role", "target_id", "target_role", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    announcement_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("announcement.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    author_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    target_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    target_role: TargetRole = Field(
        sa_column=Column(
            SAEnum(
                TargetRole,
                name="review_target_role",
                values_callable=lambda e: [m.value for m in e],
            ),
            nullable=False,
        )
    )
    score: int
    comment: str | None = Field(default=None, max_length=2000)
    hidden: bool = Field(default=False)
