"""Meetups and bookings written straight to the database (a pytest plugin), for the tests whose
subject is not the announcements or bookings API itself."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.core import clock
from app.core.db import Database
from app.core.shortcodes import new_code
from app.models.announcements import Announcement, Approval
from app.models.bookings import Booking, BookingStatus
from tests.support.factories import TestUser

MakeAnnouncement = Callable[..., Awaitable[Announcement]]


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


@pytest.fixture
def meetups(db: Database) -> Meetups:
    return Meetups(db)


@pytest.fixture
def make_announcement(meetups: Meetups) -> MakeAnnouncement:
    """`await make_announcement(host, **fields)`: an auto-approval meetup unless told otherwise."""

    async def make(host: TestUser, **overrides: Any) -> Announcement:
        approval = Approval(overrides.pop("approval", Approval.auto))
        return await meetups.create(host, approval=approval, **overrides)

    return make
