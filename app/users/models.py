"""The user table: accounts, roles and the per-user token cut-off."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, func, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field

from app.core.models import TimestampedTable


class Role(enum.StrEnum):
    member = "member"
    moderator = "moderator"
    admin = "admin"


class User(TimestampedTable, table=True):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        # Emails are unique without regard to case; we store them as given.
        Index("uq_user_account_email_lower", func.lower(text("email")), unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320)
    name: str = Field(max_length=100)
    bio: str = Field(default="", max_length=2000)
    password_hash: str = Field(max_length=255)
    role: Role = Field(
        default=Role.member,
        sa_column=Column(
            SAEnum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]),
            nullable=False,
            server_default=Role.member.value,
        ),
    )
    is_active: bool = Field(default=True)
    is_confirmed: bool = Field(default=False)
    email_notifications: bool = Field(default=True)
    # Access and refresh tokens issued before this instant are refused (password change, logout-all).
    tokens_valid_after: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=True,  # type: ignore[call-overload]
    )
