"""Helpers of the reviews tests: finished meetups with their host and guests, built straight in
the database (reviews only read announcements and bookings), posting a review, and the stored
rating counters next to a fresh recomputation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from app.core import clock as app_clock
from app.core.db import Database
from app.core.shortcodes import new_code
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus
from tests.support.factories import TestUser


@dataclass
class Meetup:
    id: uuid.UUID
    host: TestUser
    ends_at: datetime

    @property
    def reviews_url(self) -> str:
        return f"/api/v1/announcements/{self.id}/reviews"


class MeetupFactory:
    """Announcements with bookings in the given statuses."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        host: TestUser,
        *,
        approved: Sequence[TestUser] = (),
        pending: Sequence[TestUser] = (),
        cancelled: Sequence[TestUser] = (),
        ends_at: datetime | None = None,
        duration_minutes: int = 120,
        is_cancelled: bool = False,
    ) -> Meetup:
        """A meetup that ended an hour ago unless `ends_at` says otherwise."""
        now = app_clock.now()
        ends_at = ends_at or now - timedelta(hours=1)
        event_time = ends_at - timedelta(minutes=duration_minutes)
        seats = max(1, len(approved))
        announcement = Announcement(
            author_id=host.id,
            title="Stalker on 35 mm",
            location="Cinema Club, hall 2",
            event_time=event_time,
            duration_minutes=duration_minutes,
            ends_at=ends_at,
            tickets_count=seats,
            approved_seats=len(approved),
            short_code=new_code(),
            movie_title="Stalker",
            cancelled_at=now if is_cancelled else None,
        )
        async with self.db.sessionmaker() as session, session.begin():
            session.add(announcement)
            await session.flush()
            groups = (
                (approved, BookingStatus.approved),
                (pending, BookingStatus.pending),
                (cancelled, BookingStatus.cancelled),
            )
            for guests, status in groups:
                for guest in guests:
                    session.add(
                        Booking(
                            announcement_id=announcement.id,
                            guest_id=guest.id,
                            seats=1,
                            status=status,
                            event_time=event_time,
                            ends_at=ends_at,
                            short_code=new_code(),
                            approved_at=(
                                event_time - timedelta(days=1)
                                if status is BookingStatus.approved
                                else None
                            ),
                        )
                    )
        return Meetup(id=announcement.id, host=host, ends_at=ends_at)


async def post_review(
    client: httpx.AsyncClient,
    meetup: Meetup,
    author: TestUser,
    target: TestUser,
    score: int = 5,
    comment: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, object] = {"target_user_id": str(target.id), "score": score}
    if comment is not None:
        body["comment"] = comment
    return await client.post(
        meetup.reviews_url, json=body, headers={**author.headers, **(headers or {})}
    )


async def reset_reviews(db: Database) -> None:
    """Forget every review and rating (the per-test truncation runs once per test function)."""
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM review"))
        await conn.execute(
            text(
                "UPDATE user_account SET host_rating_sum = 0, host_rating_count = 0,"
                " guest_rating_sum = 0, guest_rating_count = 0"
            )
        )


async def stored_and_recomputed_ratings(
    db: Database,
) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
    """(stored counters, a fresh recomputation over visible reviews), keyed by (user, role),
    leaving out users with no reviews in a role."""
    async with db.engine.connect() as conn:
        users = (
            await conn.execute(
                text(
                    "SELECT id, host_rating_sum, host_rating_count,"
                    " guest_rating_sum, guest_rating_count FROM user_account"
                )
            )
        ).all()
        fresh = (
            await conn.execute(
                text(
                    "SELECT target_id, target_role::text, sum(score), count(*) FROM review"
                    " WHERE NOT hidden GROUP BY target_id, target_role"
                )
            )
        ).all()
    stored: dict[tuple[str, str], tuple[int, int]] = {}
    for user_id, host_sum, host_count, guest_sum, guest_count in users:
        if host_count or host_sum:
            stored[(str(user_id), "host")] = (host_sum, host_count)
        if guest_count or guest_sum:
            stored[(str(user_id), "guest")] = (guest_sum, guest_count)
    recomputed = {(str(row[0]), row[1]): (int(row[2]), int(row[3])) for row in fresh}
    return stored, recomputed
