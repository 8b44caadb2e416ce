"""Login sessions (what access and refresh tokens name) and one-time codes (email confirmation,
password reset). Both live in PostgreSQL so authentication never depends on Redis."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from app.core import clock


class AuthSession(SQLModel, table=True):
    """One login. Its refresh token rotates on every use; only the latest one is valid."""

    __tablename__ = "auth_session"
    __table_args__ = (
        Index(
            "ix_auth_session_user_active", "user_id", postgresql_where=text("revoked_at IS NULL")
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    refresh_jti: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),
        nullable=False,
    )
    refreshed_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=True,
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    revoked_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=True,
    )


class CodePurpose(enum.StrEnum):
    confirm_email = "confirm_email"
    reset_password = "reset_password"


class OneTimeCode(SQLModel, table=True):
    """A confirmation code or reset token, stored as a keyed hash; spent once, limited tries."""

    __tablename__ = "one_time_code"
    __table_args__ = (Index("ix_one_time_code_user_purpose", "user_id", "purpose"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    purpose: CodePurpose = Field(
        sa_column=Column(
            SAEnum(
                CodePurpose, name="code_purpose", values_callable=lambda e: [m.value for m in e]
            ),
            nullable=False,
        )
    )
    code_hash: str = Field(max_length=64, unique=True)
    attempts: int = Field(default=0)
    created_at: datetime = Field(
        default_factory=clock.now,
        sa_type=DateTime(timezone=True),
        nullable=False,
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    used_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=True,
    )
