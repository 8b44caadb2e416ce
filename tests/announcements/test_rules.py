"""The rules of a meetup's life are written once, on `Announcement`, for a row and for SQL: both
forms must agree for every announcement, boundaries included (a list filter and the page that
shows the same meetup must never disagree about its status, or a booking about it being closed)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from app.core.db import Database
from app.core.shortcodes import new_code
from app.models.announcements import (
    MAX_DURATION,
    REVIEW_WINDOW,
    Announcement,
    AnnouncementStatus,
)
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


def _around(now: datetime, rng: random.Random) -> datetime:
    """A time near the boundaries that matter: now, a meetup's length and the review window."""
    anchors = [now, now - REVIEW_WINDOW, now - REVIEW_WINDOW - MAX_DURATION, now - MAX_DURATION]
    step = rng.choice(
        [timedelta(0), timedelta(microseconds=1), timedelta(minutes=1), timedelta(days=1)]
    )
    return rng.choice(anchors) + rng.choice([-1, 0, 1]) * step


async def test_every_rule_agrees_between_python_and_sql(
    db: Database, users: UserFactory, clock: TestClock
) -> None:
    rng = random.Random(20261202)
    hosts = [(await users.create(signed_in=False)).id for _ in range(30)]
    now = clock.now
    taken: set[tuple[uuid.UUID, datetime]] = set()  # one meetup per host and start time
    async with db.sessionmaker() as session, session.begin():
        for _ in range(300):
            event_time, host_id = _around(now, rng), rng.choice(hosts)
            if (host_id, event_time) in taken:
                continue
            taken.add((host_id, event_time))
            minutes = rng.choice([1, 30, 120, 1440])
            tickets = rng.randint(1, 3)
            session.add(
                Announcement(
                    author_id=host_id,
                    title="x",
                    movie_title="x",
                    location="x",
                    event_time=event_time,
                    duration_minutes=minutes,
                    ends_at=event_time + timedelta(minutes=minutes),
                    tickets_count=tickets,
                    approved_seats=rng.randint(0, tickets),
                    cancelled_at=rng.choice([None, None, now - timedelta(days=1)]),
                    short_code=new_code(),
                )
            )

    async with db.sessionmaker() as session:
        rows = list(await session.scalars(select(Announcement)))
        by_id = {row.id: row for row in rows}

        async def ids(condition: object) -> set[uuid.UUID]:
            return set(await session.scalars(select(col(Announcement.id)).where(condition)))

        for status in AnnouncementStatus:
            expected = {i for i, row in by_id.items() if row.status_at(now) == status}
            assert await ids(Announcement.has_status(status, now)) == expected, status
        grouped = dict(
            (
                await session.execute(
                    select(col(Announcement.id), Announcement.status_expression(now))
                )
            ).all()
        )
        assert grouped == {i: row.status_at(now).value for i, row in by_id.items()}
        for rule in ("is_open_at", "is_closed_at", "in_review_window"):
            expected = {i for i, row in by_id.items() if getattr(row, rule)(now)}
            assert await ids(getattr(Announcement, rule)(now)) == expected, rule
        # The sample reaches every outcome, so the comparison above means something.
        assert {row.status_at(now) for row in rows} == set(AnnouncementStatus)
        assert any(row.in_review_window(now) for row in rows)
