"""`Idempotency-Key` for writes that create something.

The outcome of a keyed request — success or error, status and body — is stored in the request's
own transaction, on its own connection, and replayed for 24 h to the same user on the same route.
Nothing is claimed up front: the record is inserted when the outcome is known, so a first request
costs one statement more than an unkeyed one. A repeat that races the first waits for it (its
insert waits on the first's uncommitted row of the primary key) and then replays its answer; a
repeat after the first committed finds the record the same way. Either way the repeat's own work
is rolled back, so it creates nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypedDict, TypeVar

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, ForeignKey, String, bindparam, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlmodel import Field, SQLModel, col

from app.core import clock
from app.core.db import Transaction, Tx
from app.core.errors import AppError, IdempotencyKeyReused
from app.core.validation import SingleLineText


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
    )
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


T = TypeVar("T", bound=BaseModel)

KEEP_FOR = timedelta(hours=24)
REPLAYED_HEADER = "Idempotent-Replayed"


def request_hash(payload: Any) -> str:
    canonical = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_R = IdempotencyRecord


def _store_statement() -> Any:
    """Insert the outcome, or replace an expired record of the key; RETURNING nothing when a
    live record exists. Built once (it runs on every keyed request)."""
    values = {
        "request_hash": bindparam("digest"),
        "status_code": bindparam("status"),
        "response_body": bindparam("body", type_=JSONB),
        "created_at": bindparam("now"),
        "completed_at": bindparam("now"),
    }
    # Core, not the ORM's bulk insert path (several times the CPU). SQLModel's metaclass sets
    # __table__ but declares no type for it.
    table = _R.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(
        user_id=bindparam("user_id"), route=bindparam("route"), key=bindparam("key"), **values
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.route, table.c.key],
        set_={name: getattr(statement.excluded, name) for name in values},
        where=table.c.created_at < bindparam("expired_before"),
    ).returning(table.c.key)


_STORE = _store_statement()


async def _store(
    tx: Tx, *, user_id: uuid.UUID, route: str, key: str, digest: str, status: int, body: Any
) -> bool:
    """Store the outcome; False if the key already has a live record (which then wins). Waits
    for a concurrent request holding the same key until it commits or rolls back."""
    now = clock.now()
    stored = await (await tx.session.connection()).scalar(
        _STORE,
        {
            "user_id": user_id,
            "route": route,
            "key": key,
            "digest": digest,
            "status": status,
            "body": body,
            "now": now,
            "expired_before": now - KEEP_FOR,
        },
    )
    return stored is not None


async def _replay(tx: Tx, *, user_id: uuid.UUID, route: str, key: str, digest: str) -> JSONResponse:
    """The stored first answer (the caller's own work has been rolled back)."""
    record = await tx.session.scalar(
        select(_R).where(col(_R.user_id) == user_id, col(_R.route) == route, col(_R.key) == key)
    )
    assert record is not None  # _store found it live, and records are only ever replaced
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    return JSONResponse(
        record.response_body,
        status_code=record.status_code or 200,
        headers={REPLAYED_HEADER: "true"},
    )


class _Scope(TypedDict):
    user_id: uuid.UUID
    route: str
    key: str


async def run_once(
    tx: Tx,
    *,
    user_id: uuid.UUID,
    route: str,
    key: str | None,
    payload: Any,
    status_code: int,
    work: Awaitable[T],
) -> T | JSONResponse:
    """Run `work` once per key, in the request's transaction `tx` (committed by the caller)."""
    if key is None:
        return await work
    digest = request_hash(payload)
    scope: _Scope = {"user_id": user_id, "route": route, "key": key}
    try:
        result = await work
    except AppError as error:
        # The work is undone; the error is the outcome to keep (and commit) for this key.
        await tx.session.rollback()
        body = {"detail": error.detail, "code": error.code}
        if await _store(tx, **scope, digest=digest, status=error.status_code, body=body):
            await tx.session.commit()
            raise
        replay = await _replay(tx, **scope, digest=digest)
        await tx.session.commit()
        return replay
    body = result.model_dump(mode="json")
    if await _store(tx, **scope, digest=digest, status=status_code, body=body):
        return result
    # Another request with this key got there first: undo ours and answer with its outcome.
    await tx.session.rollback()
    tx.discard_after_commit()
    return await _replay(tx, **scope, digest=digest)


@dataclass(frozen=True)
class Once:
    """A route's `Idempotency-Key`, bound to the request: `await once(user_id, work, body)`
    runs the service call `work` (an awaitable) at most once per key and caller, replaying the
    first outcome to repeats. The route (method and path template) and the path parameters
    are part of the key's scope and of the request's fingerprint, with `body`."""

    tx: Tx
    route: str
    key: str | None
    path_params: dict[str, Any]
    status_code: int

    async def __call__(
        self, user_id: uuid.UUID, work: Awaitable[T], body: BaseModel | None = None
    ) -> T | JSONResponse:
        payload = {"path": self.path_params, "body": body.model_dump() if body else None}
        return await run_once(
            self.tx,
            user_id=user_id,
            route=self.route,
            key=self.key,
            payload=payload,
            status_code=self.status_code,
            work=work,
        )


async def _once(
    request: Request,
    tx: Transaction,
    key: Annotated[
        SingleLineText | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Repeat-safe creation: the same key within 24 h replays the first response.",
        ),
    ] = None,
) -> Once:
    route = request.scope["route"]
    return Once(
        tx=tx,
        route=f"{request.method} {route.path_format}",
        key=key,
        path_params=dict(request.path_params),
        status_code=route.status_code or 200,
    )


Idempotent = Annotated[Once, Depends(_once)]
"""The dependency of the routes that create something (it declares the `Idempotency-Key` header)."""
