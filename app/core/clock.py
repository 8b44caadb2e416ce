"""The one source of "now". Tests move it; everything else reads it."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin the clock at `at` (aware datetime), or release it with `None`. For tests only."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock only holds timezone-aware datetimes")
    _frozen = at.astimezone(UTC) if at is not None else None
