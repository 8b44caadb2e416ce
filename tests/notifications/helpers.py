"""The notification tests' world: outbox events,
the worker's sweep, and what people find in their inbox and their mailbox."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app import events
from app.core import clock
from app.core.config import get_settings
from app.core.db import Database, Tx
from app.events import DomainEvent
from app.models.mail import EmailMessage as EmailRow
from app.models.notifications import Notification
from app.worker import sweep
from tests.support.factories import TestUser
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]


def worker_ctx(app: FastAPI) -> dict[str, Any]:
    """What arq hands a job: the database, Redis and the settings."""
    return {"db": app.state.db, "redis": app.state.redis, "settings": get_settings()}


async def run_sweep(app: FastAPI) -> None:
    """The worker's minute sweep (every domain's), as the cron job runs it."""
    await sweep(worker_ctx(app))


async def sweep_and_work(app: FastAPI, run_worker: RunWorker) -> None:
    await run_sweep(app)
    await run_worker()


async def record_event(app: FastAPI, kind: str, **fields: Any) -> uuid.UUID:
    """Write an outbox event as a service does (its job is enqueued after commit)."""
    async with app.state.db.sessionmaker() as session:
        tx = Tx(session, redis=app.state.redis)
        async with session.begin():
            event = await events.record(tx, kind, **fields)
        await tx.run_after_commit()
    return event.id


async def inbox(client: httpx.AsyncClient, user: TestUser, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/notifications", headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def kinds(client: httpx.AsyncClient, user: TestUser) -> list[str]:
    return [item["kind"] for item in (await inbox(client, user, limit=100))["items"]]


def mail_to(mailbox: Mailbox, user: TestUser) -> list[EmailMessage]:
    return mailbox.to(user.email)


def ics_of(message: EmailMessage) -> str | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            return content.decode() if isinstance(content, bytes) else str(content)
    return None


async def count(db: Database, model: type, *where: Any) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def notification_count(db: Database, *where: Any) -> int:
    return await count(db, Notification, *where)


async def email_count(db: Database, *where: Any) -> int:
    return await count(db, EmailRow, *where)


async def event(db: Database, event_id: uuid.UUID) -> DomainEvent:
    async with db.sessionmaker() as session:
        row = await session.get(DomainEvent, event_id)
        assert row is not None
        return row


async def add_followers(
    db: Database, host: TestUser, n: int, *, with_email: int = 0
) -> list[uuid.UUID]:
    """`n` accounts following `host`, written in bulk; the first `with_email` want emails."""
    from sqlalchemy import insert

    from app.models.users import Follow, User

    now = clock.now()
    ids = [uuid.uuid4() for _ in range(n)]
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            insert(User),
            [
                {
                    "id": user_id,
                    "email": f"fan-{user_id.hex[:12]}@example.com",
                    "name": f"Fan {i}",
                    "password_hash": "not-a-hash",
                    "is_confirmed": True,
                    "email_notifications": i < with_email,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, user_id in enumerate(ids)
            ],
        )
        await session.execute(
            insert(Follow),
            [{"follower_id": i, "followee_id": host.id, "created_at": now} for i in ids],
        )
    return ids


class BackgroundWorker:
    """A real arq worker running beside the test, to be stopped (killed) at a chosen moment."""

    def __init__(self) -> None:
        import asyncio

        from arq.worker import create_worker

        from app.core.redis import redis_settings
        from app.worker import WorkerSettings

        self.worker = create_worker(
            WorkerSettings,  # type: ignore[arg-type]
            redis_settings=redis_settings(get_settings().redis_url or ""),
            poll_delay=0.01,
            handle_signals=False,
            cron_jobs=[],
        )
        self.task = asyncio.create_task(self.worker.async_run())

    async def kill(self) -> None:
        """Stop at once: running jobs are cancelled mid-way (their transactions roll back)."""
        import asyncio

        try:
            # arq's close() cancels the running jobs, then gathers them: a job caught mid-way
            # re-raises its CancelledError here. Only our own cancellation may propagate.
            await self.worker.close()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        self.task.cancel()


async def wait_for_blocked_insert(db: Database, table: str) -> None:
    """Until a session waits on a row lock in an INSERT into `table` (a condition, not a time)."""
    import asyncio

    from sqlalchemy import text

    for _ in range(400):
        async with db.engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE :insert"
                ),
                {"insert": f"INSERT INTO {table}%"},
            )
        if waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"no INSERT INTO {table} ever waited on the lock")
