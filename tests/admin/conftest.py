"""Fixtures of the admin tests."""

from __future__ import annotations

import pytest

from app.core.db import Database
from tests.notifications.helpers import Meetups


@pytest.fixture
def meetups(db: Database) -> Meetups:
    return Meetups(db)
