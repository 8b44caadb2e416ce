"""Fixtures of the notification tests."""

from __future__ import annotations

import pytest

from app.core.db import Database
from tests.bookings.conftest import make_announcement
from tests.notifications.helpers import Meetups

__all__ = ["make_announcement", "meetups"]


@pytest.fixture
def meetups(db: Database) -> Meetups:
    return Meetups(db)
