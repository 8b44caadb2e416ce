"""A meetup to book, created straight in the database (the announcements API has its own tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from app.announcements.models import Announcement, Approval
from app.core import clock
from app.core.shortcodes import new_code
from tests.support.factories import TestUser

MakeAnnouncement = Callable[..., Awaitable[Announcement]]


@pytest.fixture
def make_announcement(app: FastAPI) -> MakeAnnouncement:
    async def make(host: TestUser, **overrides: Any) -> Announcement:
        event_time = overrides.pop("event_time", clock.now() + timedelta(days=2))
        duration = overrides.pop("duration_minutes", 120)
        approval = overrides.pop("approval", Approval.auto)
        announcement = Announcement(
            author_id=host.id,
            title=overrides.pop("title", "Stalker"),
            movie_title=overrides.pop("movie_title", "Stalker"),
            location=overrides.pop("location", "My place"),
            event_time=event_time,
            duration_minutes=duration,
            ends_at=event_time + timedelta(minutes=duration),
            tickets_count=overrides.pop("tickets_count", 4),
            approval=Approval(approval),
            short_code=new_code(),
            **overrides,
        )
        async with app.state.db.sessionmaker() as session, session.begin():
            session.add(announcement)
        return announcement

    return make
