"""The bookings domain's errors: each a machine code, its docstring (when it happens, quoted by
the OpenAPI) and its default message."""

from __future__ import annotations

from typing import Any, ClassVar

from app.core.errors import Conflict, Forbidden
from app.core.i18n import N_, N_plural


class OwnAnnouncement(Forbidden):
    """Requesting seats on one's own meetup."""

    code = "own_announcement"
    detail = N_("You cannot book your own meetup.")


class SubscribersOnly(Forbidden):
    """Requesting seats on a `sub_only` meetup without following its host."""

    code = "subscribers_only"
    detail = N_("This meetup is for the host's followers: follow them first.")


class AnnouncementClosed(Conflict):
    """The meetup is closed: changing or cancelling a cancelled, started or finished meetup;
    requesting seats on, or approving for, a cancelled or started one; rejecting or cancelling a
    booking once it started.

    The announcements domain raises it too (changing or cancelling a closed meetup); it lives
    here because announcements import bookings, never the reverse."""

    code = "announcement_closed"
    detail = N_("This meetup was cancelled or has already started.")


class AlreadyBooked(Conflict):
    """You hold an active booking (pending, approved or waitlisted) for this meetup."""

    code = "already_booked"
    detail = N_("You already have a booking for this meetup.")


class TimeConflict(Conflict):
    """You hold an active booking on another meetup whose time overlaps this one."""

    code = "time_conflict"
    detail = N_("You have another booking at an overlapping time.")


class NoSeats(Conflict):
    """Not enough seats left (and no `join_waitlist`); approving more seats than are left."""

    code = "no_seats"
    detail = N_("Only {n} seat left.")
    example: ClassVar[Any] = "Only 0 seats left."

    def __init__(self, tickets_left: int) -> None:
        super().__init__(
            N_plural("Only {n} seat left.", "Only {n} seats left."), count=max(tickets_left, 0)
        )


class InvalidTransition(Conflict):
    """The booking's status does not allow this move (a rejected, cancelled or expired booking
    is final; an approved one can only be cancelled)."""

    code = "invalid_transition"
    detail = N_("The booking's status does not allow this move.")
