"""A meetup of a catalog film reaches the film's followers too (new_movie_meetup), in the same
batched, resumable fan-out as new_announcement: one notice per person and meetup (the host
relation wins), never the host, exactly once through retries and a worker killed mid-way."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select, text
from sqlmodel import col

from app.core import clock as app_clock
from app.core.db import Database
from app.events import DomainEvent
from app.models.mail import EmailMessage as EmailRow
from app.models.movies import MovieFollow
from app.models.notifications import Notification
from app.models.users import Follow, User
from app.notifications import fanout
from tests.notifications.helpers import (
    BackgroundWorker,
    RunWorker,
    email_count,
    event,
    inbox,
    kinds,
    mail_to,
    notification_count,
    sweep_and_work,
    wait_for_blocked_insert,
    worker_ctx,
)
from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory
from tests.support.smtp import Mailbox

API = "/api/v1"


async def _movie(client: httpx.AsyncClient, users: UserFactory, title: str = "Stalker") -> str:
    moderator = await users.moderator()
    response = await client.post(
        f"{API}/movies", headers=moderator.headers, json={"title": title, "year": 1979}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _follow_host(client: httpx.AsyncClient, fan: TestUser, host: TestUser) -> None:
    response = await client.put(f"{API}/users/{host.id}/follow", headers=fan.headers)
    assert response.status_code == 204, response.text


async def _follow_film(db: Database, movie_id: str, *user_ids: uuid.UUID) -> None:
    """Film follows as rows (the follow route is not served yet)."""
    now = app_clock.now()
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            insert(MovieFollow),
            [{"user_id": u, "movie_id": uuid.UUID(movie_id), "created_at": now} for u in user_ids],
        )


async def _people(db: Database, n: int, *, email_every: int = 0) -> list[uuid.UUID]:
    """`n` accounts written in bulk; every `email_every`-th one wants emails (0: none)."""
    now = app_clock.now()
    ids = [uuid.uuid4() for _ in range(n)]
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            insert(User),
            [
                {
                    "id": user_id,
                    "email": f"cinephile-{user_id.hex[:12]}@example.com",
                    "name": f"Cinephile {i}",
                    "password_hash": "not-a-hash",
                    "is_confirmed": True,
                    "email_notifications": bool(email_every) and i % email_every == 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, user_id in enumerate(ids)
            ],
        )
    return ids


async def _bulk_follow_host(db: Database, host: TestUser, ids: list[uuid.UUID]) -> None:
    now = app_clock.now()
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            insert(Follow),
            [{"follower_id": u, "followee_id": host.id, "created_at": now} for u in ids],
        )


async def _event_of(db: Database, announcement_id: str) -> uuid.UUID:
    async with db.sessionmaker() as session:
        event_id = await session.scalar(
            select(DomainEvent.id).where(
                DomainEvent.announcement_id == uuid.UUID(announcement_id),
                DomainEvent.kind == "announcement_created",
            )
        )
    assert event_id is not None
    return event_id


async def _kind_counts(db: Database) -> dict[str, int]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(Notification.kind, func.count()).group_by(Notification.kind)
        )
        return {kind: n for kind, n in rows.all()}


async def _per_user(db: Database) -> dict[int, int]:
    """How many people got how many notifications (of any kind)."""
    async with db.sessionmaker() as session:
        per_user = (
            select(func.count().label("n"))
            .select_from(Notification)
            .group_by(Notification.user_id)
            .subquery()
        )
        rows = await session.execute(select(per_user.c.n, func.count()).group_by(per_user.c.n))
        return {n: people for n, people in rows.all()}


async def _emails_per_notification(db: Database) -> dict[int, int]:
    async with db.sessionmaker() as session:
        per = (
            select(func.count().label("n"))
            .select_from(EmailRow)
            .group_by(EmailRow.notification_id)
            .subquery()
        )
        rows = await session.execute(select(per.c.n, func.count()).group_by(per.c.n))
        return {n: notifications for n, notifications in rows.all()}


async def _wanting_email(db: Database, ids: list[uuid.UUID]) -> int:
    async with db.sessionmaker() as session:
        n = await session.scalar(
            select(func.count()).where(col(User.id).in_(ids), col(User.email_notifications))
        )
    return int(n or 0)


async def test_film_followers_hear_of_the_meetup_and_the_host_relation_wins(
    client: httpx.AsyncClient,
    db: Database,
    users: UserFactory,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host = await users.create(name="Andrei")
    movie_id = await _movie(client, users)
    host_fan, film_fan, both, quiet_film_fan, stranger = [await users.create() for _ in range(5)]
    await _follow_host(client, host_fan, host)
    await _follow_host(client, both, host)
    off = await client.patch(
        f"{API}/users/me", headers=quiet_film_fan.headers, json={"email_notifications": False}
    )
    assert off.status_code == 200
    await _follow_film(db, movie_id, film_fan.id, both.id, quiet_film_fan.id, host.id)

    meetup = await create_announcement(client, host, movie_id=movie_id, title="Zone night")
    await run_worker()

    assert await kinds(client, host_fan) == ["new_announcement"]
    assert await kinds(client, both) == ["new_announcement"]
    assert await kinds(client, film_fan) == ["new_movie_meetup"]
    assert await kinds(client, quiet_film_fan) == ["new_movie_meetup"]
    assert await kinds(client, host) == []  # follows the film, but it is their own meetup
    assert await kinds(client, stranger) == []

    [notice] = (await inbox(client, film_fan))["items"]
    assert notice["title"] == "A new meetup of Stalker: “Zone night”"
    assert notice["body"].startswith("Andrei is hosting a meetup of Stalker, a film you follow: ")
    assert notice["announcement_id"] == meetup["id"]
    assert notice["link"]

    # Email: one each to those who want it (not to quiet_film_fan, who turned email off).
    for person in (host_fan, both, film_fan):
        assert len(mail_to(mailbox, person)) == 1
    [film_mail] = mail_to(mailbox, film_fan)
    assert film_mail["Subject"] == "A new meetup of Stalker: “Zone night”"
    text_part = film_mail.get_body(preferencelist=("plain",))
    assert text_part is not None
    assert "a film you follow" in text_part.get_content()
    assert "Film:  Stalker" in text_part.get_content()
    assert mail_to(mailbox, quiet_film_fan) == []
    assert mail_to(mailbox, host) == []
    assert len(mailbox) == 3

    # A meetup without a catalog film: the host's followers only.
    mailbox.clear()
    await create_announcement(
        client,
        host,
        title="Free choice",
        movie_title="Stalker",
        event_time=app_clock.now() + timedelta(days=3),
    )
    await run_worker()
    assert await kinds(client, host_fan) == ["new_announcement", "new_announcement"]
    assert await kinds(client, both) == ["new_announcement", "new_announcement"]
    assert await kinds(client, film_fan) == ["new_movie_meetup"]
    assert sorted(str(m["To"]) for m in mailbox) == sorted([host_fan.email, both.email])

    async with db.sessionmaker() as session:
        keys = set((await session.scalars(select(Notification.dedupe_key))).all())
    event_id = await _event_of(db, meetup["id"])
    assert f"{event_id}:{film_fan.id}:announced" in keys
    assert f"{event_id}:{both.id}:announced" in keys


async def test_10000_film_followers_a_killed_worker_and_a_restart_tell_everyone_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    host = await users.create()
    movie_id = await _movie(client, users)
    fans = await _people(db, 10_000, email_every=50)
    await _follow_film(db, movie_id, *fans)
    await _bulk_follow_host(db, host, fans[:2000])
    everyone = sorted(fans)
    wanting_email = await _wanting_email(db, fans)
    assert wanting_email == 200

    # The sixth batch stalls on one of its people's row (held here) and the worker dies there.
    async with db.engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT 1 FROM user_account WHERE id = :id FOR UPDATE"), {"id": everyone[5500]}
        )
        meetup = await create_announcement(client, host, movie_id=movie_id)
        event_id = await _event_of(db, meetup["id"])
        worker = BackgroundWorker()
        await wait_for_blocked_insert(db, "notification")
        await worker.kill()
        await transaction.rollback()

    halfway = await event(db, event_id)
    assert halfway.processed_at is None
    assert halfway.cursor == str(everyone[4999])  # five batches committed, the sixth rolled back
    assert await notification_count(db) == 5000

    # A job cancelled at some points (an email being sent, for one) keeps its arq in-progress key
    # until it expires (job timeout + 10 s): the restarted worker would wait for that. Let them
    # expire now, as they would have by the time a real worker is back.
    redis = app.state.redis
    for key in await redis.keys("arq:in-progress:*"):
        await redis.delete(key)
    clock.advance(minutes=1)
    await sweep_and_work(app, run_worker)  # restarted; the sweep enqueues the event again

    done = await event(db, event_id)
    assert done.processed_at is not None
    assert done.cursor == str(everyone[-1])
    assert await _per_user(db) == {1: 10_000}
    assert await _kind_counts(db) == {"new_announcement": 2000, "new_movie_meetup": 8000}
    assert await email_count(db) == wanting_email
    assert await _emails_per_notification(db) == {1: wanting_email}


async def test_a_batch_processed_again_adds_nothing_even_when_the_kind_would_change(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
) -> None:
    host = await users.create()
    movie_id = await _movie(client, users)
    film_fans = await _people(db, 1200, email_every=100)
    await _follow_film(db, movie_id, *film_fans)
    turncoat = await users.create()
    await _follow_film(db, movie_id, turncoat.id)
    meetup = await create_announcement(client, host, movie_id=movie_id)
    event_id = await _event_of(db, meetup["id"])

    ctx = worker_ctx(app)
    assert await fanout.process_event(ctx, str(event_id)) == "processed"
    assert await notification_count(db) == 1201
    emails = await email_count(db)
    assert emails == 12 + 1
    assert await kinds(client, turncoat) == ["new_movie_meetup"]

    # The same event from the start again (its marks lost), after turncoat followed the host:
    # the walk now says new_announcement for them, but the key is the same, so nothing is added.
    await _follow_host(client, turncoat, host)
    async with db.sessionmaker() as session, session.begin():
        row = await session.get(DomainEvent, event_id)
        assert row is not None
        row.processed_at, row.cursor = None, None
    assert await fanout.process_event(ctx, str(event_id)) == "processed"
    assert await notification_count(db) == 1201
    assert await email_count(db) == emails
    assert await kinds(client, turncoat) == ["new_movie_meetup"]


async def test_a_crash_after_delivering_before_the_cursor_commit_leaves_nothing_behind(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = await users.create()
    movie_id = await _movie(client, users)
    fans = await _people(db, 1500, email_every=10)
    await _follow_film(db, movie_id, *fans)
    await _bulk_follow_host(db, host, fans[::3])
    everyone = sorted(fans)
    meetup = await create_announcement(client, host, movie_id=movie_id)
    event_id = await _event_of(db, meetup["id"])

    deliver, calls = fanout.deliver, []

    async def deliver_then_crash(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        delivered = await deliver(*args, **kwargs)
        if len(calls) == 2:  # the second batch is written, then the worker dies before commit
            raise RuntimeError("worker died")
        return delivered

    monkeypatch.setattr(fanout, "deliver", deliver_then_crash)
    ctx = worker_ctx(app)
    with pytest.raises(RuntimeError):
        await fanout.process_event(ctx, str(event_id))
    halfway = await event(db, event_id)
    assert halfway.cursor == str(everyone[999])
    assert halfway.attempts == 1
    assert await notification_count(db) == 1000

    # The retry does the second batch again, from the committed cursor.
    assert await fanout.process_event(ctx, str(event_id)) == "processed"
    assert (await event(db, event_id)).cursor == str(everyone[-1])
    assert await _per_user(db) == {1: 1500}
    assert await _kind_counts(db) == {"new_announcement": 500, "new_movie_meetup": 1000}
    assert await email_count(db) == 150
    assert await _emails_per_notification(db) == {1: 150}
