from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import clock


class TestClock:
    """Holds the app clock still and moves it on request."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, start: datetime | None = None) -> None:
        self.now = (start or datetime.now(UTC)).replace(microsecond=0)
        clock.freeze(self.now)

    def set(self, at: datetime) -> datetime:
        self.now = at
        clock.freeze(at)
        return at

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        return self.set(self.now + (delta or timedelta(**kwargs)))

    def release(self) -> None:
        clock.freeze(None)
