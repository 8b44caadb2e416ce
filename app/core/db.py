"""Engine, sessions and the per-request transaction.

One transaction per request, committed before the response is sent: the `Transaction` dependency
has `scope="function"`, so its exit (commit, then the after-commit hooks) runs when the route
function returns, not after the response went out as a plain yield dependency would since
FastAPI 0.118.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

from app.core.config import Settings
from app.core.errors import AppError
from app.core.logging import get_logger
from app.core.redis import QueuedJob, enqueue_many

log = get_logger(__name__)

# Stable constraint names, so migrations can name what they drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


def pooler_connect_args(settings: Settings) -> dict[str, Any]:
    """The connect arguments that the pooler in DATABASE_POOLER needs.

    Behind a transaction pooler (PgBouncer in transaction mode) a statement prepared on one server
    connection is unknown on the next: asyncpg's statement cache and SQLAlchemy's prepared-statement
    cache are off, and every prepared statement gets a name of its own, so two clients sharing a
    server connection never collide. Session state does not survive a transaction there either:
    the app only uses SET LOCAL (custom_plans below) and transaction-scoped advisory locks.
    """
    if settings.database_pooler == "pgbouncer":
        return {
            "statement_cache_size": 0,  # asyncpg's own cache
            "prepared_statement_cache_size": 0,  # SQLAlchemy's asyncpg dialect's cache
            "prepared_statement_name_func": _unique_statement_name,
        }
    return {}


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        url,
        # No pre-ping round trip per checkout: a connection the server closed is noticed for free
        # (below), old ones are recycled, and a dead one found mid-request is a 503 that also
        # invalidates the pool, so the next request gets a fresh connection.
        pool_pre_ping=False,
        pool_recycle=settings.db_pool_recycle_seconds,
        hide_parameters=True,  # errors and logs never show row values (emails, hashes)
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # Fail fast with 503 instead of queueing forever when the pool is exhausted.
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_command_timeout_seconds,
            **pooler_connect_args(settings),
        },
    )
    event.listen(engine.sync_engine, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection whose socket the server already closed (a PostgreSQL restart
    terminates every backend): asyncpg knows without a round trip, and the pool then retries the
    checkout with a new connection."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this connection")


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> Database:
        engine = create_engine(url, settings)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    async def dispose(self) -> None:
        await self.engine.dispose()


AfterCommit = Callable[[], Awaitable[None]]


@dataclass
class Tx:
    """A session plus the jobs to enqueue once its transaction has committed.

    Enqueueing is best effort: the row that the job will act on is already committed, and the
    worker's sweep finds it if the enqueue is lost (Redis down, process killed).
    """

    session: AsyncSession
    redis: ArqRedis | None = None
    _after_commit: list[AfterCommit] = field(default_factory=list)
    _jobs: list[QueuedJob] = field(default_factory=list)

    def after_commit(self, hook: AfterCommit) -> None:
        self._after_commit.append(hook)

    def discard_after_commit(self) -> None:
        """Forget the jobs and hooks of work that was rolled back."""
        self._jobs.clear()
        self._after_commit.clear()

    def enqueue_after_commit(
        self, function: str, *args: Any, job_id: str, defer_until: datetime | None = None
    ) -> None:
        """Enqueue an arq job once committed, unless a job with `job_id` exists. All the jobs of
        a transaction go in one round trip (`run_after_commit`)."""
        if self.redis is not None:
            self._jobs.append(QueuedJob(function, args, job_id, defer_until))

    async def run_after_commit(self) -> None:
        jobs, self._jobs = self._jobs, []
        if jobs and self.redis is not None:
            try:
                await enqueue_many(self.redis, jobs)
            except Exception:
                # The change is committed; the worker's sweep enqueues what this lost.
                log.warning("after_commit_enqueue_failed", jobs=len(jobs), exc_info=True)
        for hook in self._after_commit:
            try:
                await hook()
            except Exception:
                log.warning("after_commit_hook_failed", exc_info=True)


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def custom_plans(session: AsyncSession) -> None:
    """Plan this transaction's statements for their actual parameters.

    asyncpg prepares every statement, and after five runs PostgreSQL may switch a prepared
    statement to a generic plan made without the parameters. That is right for a lookup by key,
    wrong where the best plan depends on the values (a text search's words, a tag array, a date
    range, a status): a generic plan of the list's search took 16 ms against 2 ms. One cheap
    statement, for the requests that need it (the lists); the hot paths keep their cached plans.
    """
    await (await session.connection()).execute(_CUSTOM_PLANS)


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _transaction(request: Request) -> AsyncIterator[Tx]:
    async with get_database(request).sessionmaker() as session:
        tx = Tx(session, redis=request.app.state.redis)
        try:
            yield tx
        except AppError as exc:
            if not exc.persist:
                await session.rollback()
                raise
            await session.commit()
            await tx.run_after_commit()
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    await tx.run_after_commit()


Transaction = Annotated[Tx, Depends(_transaction, scope="function")]
"""The request's session; its transaction commits before the response is sent."""
