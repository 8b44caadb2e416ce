"""Fixtures of the reviews tests."""

from __future__ import annotations

import pytest

from app.core.db import Database
from tests.reviews.helpers import MeetupFactory


@pytest.fixture
def meetups(db: Database) -> MeetupFactory:
    """Builds meetups (an announcement and its bookings) directly in the database."""
    return MeetupFactory(db)
