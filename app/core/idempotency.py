"""`Idempotency-Key` for writes that create something.

The key is claimed in its own short transaction before the work starts, so a concurrent repeat
sees it at once (409 idempotency_in_progress); the outcome — success or error — is stored
afterwards and replayed (same status, same body) for 24 h to the same user on the same route.
A claim whose request died without an outcome is retaken after a minute.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, ForeignKey, String, delete, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import Database
from app.core.errors import AppError, Conflict, Unprocessable


class IdempotencyRecord(SQLModel, table=True):
    """The first response to an `Idempotency-Key`, replayed for 24 h to the same user and route."""

    __tablename__ = "idempotency_record"

    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    route: str = Field(sa_column=Column(String(200), primary_key=True))
    key: str = Field(sa_column=Column(String(200), primary_key=True))
    request_hash: str = Field(max_length=64)
    status_code: int | None = Field(default=None)
    response_body: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=clock.now, sa_type=DateTime(timezone=True), index=True
    )  # type: ignore[call-overload]
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]


KEEP_FOR = timedelta(hours=24)
STALE_CLAIM = timedelta(minutes=1)


def request_hash(payload: Any) -> str:
    canonical = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _claim(
    db: Database, user_id: uuid.UUID, route: str, key: str, digest: str
) -> IdempotencyRecord | None:
    """Claim the key; None if we now own it, else the existing record."""
    now = clock.now()
    async with db.sessionmaker() as session, session.begin():
        # Forget expired records and abandoned claims of this key, then try to claim it.
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.route == route,
                IdempotencyRecord.key == key,
                or_(
                    IdempotencyRecord.created_at < now - KEEP_FOR,
                    (IdempotencyRecord.completed_at.is_(None))  # type: ignore[union-attr]
                    & (IdempotencyRecord.created_at < now - STALE_CLAIM),
                ),
            )
        )
        claimed = await session.scalar(
            insert(IdempotencyRecord)
            .values(user_id=user_id, route=route, key=key, request_hash=digest, created_at=now)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if claimed is not None:
            return None
        return await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.route == route,
                IdempotencyRecord.key == key,
            )
        )


async def _complete(
    db: Database, user_id: uuid.UUID, route: str, key: str, status: int, body: Any
) -> None:
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.route == route,
                IdempotencyRecord.key == key,
            )
            .values(
                status_code=status, response_body=jsonable_encoder(body), completed_at=clock.now()
            )
        )


async def run_once(
    db: Database,
    *,
    user_id: uuid.UUID,
    route: str,
    key: str | None,
    payload: Any,
    status_code: int,
    work: Callable[[], Awaitable[BaseModel]],
    commit: Callable[[], Awaitable[None]],
) -> BaseModel | JSONResponse:
    """Run `work` once per key. `commit` commits the request's transaction, so the outcome is
    stored only once the work is durable."""
    if key is None:
        return await work()
    digest = request_hash(payload)
    existing = await _claim(db, user_id, route, key, digest)
    if existing is not None:
        if existing.request_hash != digest:
            raise Unprocessable(
                "This Idempotency-Key was used with a different request.",
                code="idempotency_key_reused",
            )
        if existing.completed_at is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed.",
                code="idempotency_in_progress",
            )
        return JSONResponse(
            existing.response_body,
            status_code=existing.status_code or 200,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        result = await work()
        await commit()
    except AppError as exc:
        await _complete(
            db, user_id, route, key, exc.status_code, {"detail": exc.detail, "code": exc.code}
        )
        raise
    except BaseException:
        # An unexpected failure: release the key so a retry can run.
        async with db.sessionmaker() as session, session.begin():
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == user_id,
                    IdempotencyRecord.route == route,
                    IdempotencyRecord.key == key,
                )
            )
        raise
    await _complete(db, user_id, route, key, status_code, result.model_dump(mode="json"))
    return result
