"""The booking state machine: every status change goes through `move`."""

from __future__ import annotations

from app.bookings.models import Booking, BookingStatus
from app.core import clock
from app.core.errors import Conflict

S = BookingStatus
ALLOWED: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.pending: frozenset({S.approved, S.rejected, S.cancelled, S.expired}),
    S.approved: frozenset({S.cancelled}),
    S.waitlisted: frozenset({S.pending, S.approved, S.rejected, S.cancelled, S.expired}),
    S.rejected: frozenset(),
    S.cancelled: frozenset(),
    S.expired: frozenset(),
}


def can_move(booking: Booking, to: BookingStatus) -> bool:
    return to in ALLOWED[booking.status]


def move(booking: Booking, to: BookingStatus) -> None:
    """Change the status or raise 409 invalid_transition. Seat counters are the caller's job
    (it holds the announcement's row lock)."""
    if not can_move(booking, to):
        raise Conflict(
            f"A {booking.status.value} booking cannot become {to.value}.",
            code="invalid_transition",
        )
    booking.status = to
    now = clock.now()
    booking.updated_at = now
    if to == S.approved:
        booking.approved_at = now
