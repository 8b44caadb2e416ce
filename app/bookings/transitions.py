"""The booking state machine: which status may follow which, and what each move does to the
announcement's seat counters. Every status change is checked here (`check_move`, or `move` for an
ORM row) and its counter shift comes from `counter_deltas`."""

from __future__ import annotations

from app.bookings.errors import InvalidTransition
from app.core import clock
from app.core.i18n import N_
from app.models.bookings import Booking, BookingStatus

S = BookingStatus
ALLOWED: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.pending: frozenset({S.approved, S.rejected, S.cancelled, S.expired}),
    S.approved: frozenset({S.cancelled}),
    S.waitlisted: frozenset({S.pending, S.approved, S.rejected, S.cancelled, S.expired}),
    S.rejected: frozenset(),
    S.cancelled: frozenset(),
    S.expired: frozenset(),
}


def check_move(current: BookingStatus, to: BookingStatus) -> None:
    """409 invalid_transition unless a `current` booking may become `to`."""
    if to not in ALLOWED[current]:
        raise InvalidTransition(
            N_("A {current} booking cannot become {to}."),
            params={"current": current.value, "to": to.value},
        )


def counter_deltas(current: BookingStatus | None, to: BookingStatus, seats: int) -> tuple[int, int]:
    """How (approved_seats, waitlist_count) of the announcement change when a booking of `seats`
    moves from `current` (None: a new booking) to `to`. The caller holds the row lock."""
    approved = (seats if to == S.approved else 0) - (seats if current == S.approved else 0)
    waitlisted = (to == S.waitlisted) - (current == S.waitlisted)
    return approved, int(waitlisted)


def move(booking: Booking, to: BookingStatus) -> None:
    """Change an ORM row's status or raise 409 invalid_transition. Seat counters are the caller's
    job (it holds the announcement's row lock)."""
    check_move(booking.status, to)
    booking.status = to
    now = clock.now()
    booking.updated_at = now
    if to == S.approved:
        booking.approved_at = now
