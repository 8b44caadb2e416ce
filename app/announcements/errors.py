"""The announcements domain's errors: each a machine code, its docstring (when it happens, quoted
by the OpenAPI) and its default message. `announcement_closed` is shared with bookings, so it
lives in app/bookings/errors.py (announcements import bookings, never the reverse)."""

from __future__ import annotations

from app.core.errors import Conflict, Unprocessable
from app.core.i18n import N_


class DuplicateAnnouncement(Conflict):
    """The author has another non-cancelled meetup at that exact event_time."""

    code = "duplicate_announcement"
    detail = N_("You already have a meetup starting at this time.")


class CapacityBelowBooked(Conflict):
    """`tickets_count` would go below the seats already approved."""

    code = "capacity_below_booked"
    detail = N_("More seats are already approved: tickets_count cannot go below that.")


class HasBookings(Conflict):
    """Deleting a meetup that had a booking of any status (cancel it instead)."""

    code = "has_bookings"
    detail = N_("This meetup has had bookings: cancel it instead of deleting it.")


class UnknownMovie(Unprocessable):
    """`movie_id` names no movie of the catalog."""

    code = "unknown_movie"
    detail = N_(
        "movie_id names no movie of the catalog: pick one from GET /movies or give "
        "movie_title instead."
    )


class EventTimeNotInFuture(Unprocessable):
    """`event_time` is not in the future."""

    code = "event_time_not_in_future"
    detail = N_("event_time must be in the future.")


class InvalidPrice(Unprocessable):
    """A change whose merged result is free with a price, or paid without a price above 0."""

    code = "invalid_price"
    detail = N_("A paid meetup needs a price above 0.")
