"""The notification tests' world: meetups and bookings straight in the database, outbox events,
the worker's sweep, and what people find in their inbox and their mailbox."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.announcements.models import Announcement, Approval
from app.bookings.models import Booking, BookingStatus
from app.core import clock, outbox
from app.core.config import get_settings
from app.core.db import Database, Tx
from app.core.shortcodes import new_code
from app.mail.models import EmailMessage as EmailRow
from app.notifications.models import DomainEvent, Notification
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


class Meetups:
    """Announcements and bookings written straight to the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, host: TestUser, **overrides: Any) -> Announcement:
        event_time = overrides.pop("event_time", clock.now() + timedelta(days=2))
        duration = overrides.pop("duration_minutes", 120)
        announcement = Announcement(
            author_id=host.id,
            title=overrides.pop("title", "Stalker night"),
            movie_title=overrides.pop("movie_title", "Stalker"),
            location=overrides.pop("location", "12 Film Street"),
            event_time=event_time,
            duration_minutes=duration,
            ends_at=event_time + timedelta(minutes=duration),
            tickets_count=overrides.pop("tickets_count", 4),
            approval=overrides.pop("approval", Approval.manual),
            short_code=new_code(),
            **overrides,
        )
        async with self.db.sessionmaker() as session, session.begin():
            session.add(announcement)
        return announcement

    async def book(
        self,
        announcement: Announcement,
        guest: TestUser,
        status: BookingStatus = BookingStatus.approved,
        *,
        seats: int = 1,
        approved_at: datetime | None = None,
    ) -> Booking:
        if status == BookingStatus.approved and approved_at is None:
            approved_at = clock.now()
        booking = Booking(
            announcement_id=announcement.id,
            guest_id=guest.id,
            seats=seats,
            status=status,
            event_time=announcement.event_time,
            ends_at=announcement.ends_at,
            approved_at=approved_at,
            short_code=new_code(),
        )
        async with self.db.sessionmaker() as session, session.begin():
            session.add(booking)
            if status == BookingStatus.approved:
                row = await session.get(Announcement, announcement.id, with_for_update=True)
                assert row is not None
                row.approved_seats += seats
        return booking

    async def update(self, announcement_id: uuid.UUID, **values: Any) -> Announcement:
        async with self.db.sessionmaker() as session, session.begin():
            row = await session.get(Announcement, announcement_id, with_for_update=True)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
            row.ends_at = row.event_time + timedelta(minutes=row.duration_minutes)
        return row


async def record_event(app: FastAPI, kind: str, **fields: Any) -> uuid.UUID:
    """Write an outbox event as a service does (its job is enqueued after commit)."""
    async with app.state.db.sessionmaker() as session:
        tx = Tx(session, redis=app.state.redis)
        async with session.begin():
            event = await outbox.record(tx, kind, **fields)
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

    from app.users.models import Follow, User

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
        await self.worker.close()
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
