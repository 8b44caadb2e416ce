"""What each notification says: its title (also the email subject) and body, in words a person
understands, with the meetup's time in the meetup's own time zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.core.shortcodes import short_url
from app.models.announcements import REVIEW_WINDOW, Announcement
from app.models.bookings import Booking


@dataclass(frozen=True)
class Notice:
    """One notification for one person, ready to be stored (and emailed)."""

    user_id: uuid.UUID
    kind: str
    dedupe_key: str
    title: str
    body: str
    link: str | None
    announcement_id: uuid.UUID | None = None
    booking_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    # Emails about one meetup (approval, update, reminders) carry its .ics.
    attach_ics: bool = False


def zone(announcement: Announcement) -> ZoneInfo:
    try:
        return ZoneInfo(announcement.timezone)
    except Exception:  # validated on input; an old or hand-edited row falls back to UTC
        return ZoneInfo("UTC")


def local_time(moment: datetime, announcement: Announcement) -> str:
    """`Friday 14 March 2026, 19:00 (Europe/Moscow)`: the meetup's wall-clock time."""
    local = moment.astimezone(zone(announcement))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({zone(announcement).key})"


def when(announcement: Announcement) -> str:
    return local_time(announcement.event_time, announcement)


def meetup_link(announcement: Announcement) -> str:
    return short_url(announcement.short_code)


def booking_link(booking: Booking) -> str:
    return short_url(booking.short_code)


def _seats(n: int) -> str:
    return "1 seat" if n == 1 else f"{n} seats"


def _meetup_line(a: Announcement, *, with_film: bool = True) -> str:
    shown = with_film and a.movie_title and a.movie_title != a.title
    film = f" ({a.movie_title})" if shown else ""
    return f"“{a.title}”{film}, {when(a)}, at {a.location}"


# --- booking events ------------------------------------------------------------------------------


def booking_requested(a: Announcement, b: Booking, guest: str, status: str) -> tuple[str, str]:
    if status == "waitlisted":
        return (
            f"{guest} joined the waitlist for “{a.title}”",
            f"{guest} asked for {_seats(b.seats)} at {_meetup_line(a)}. The meetup is full, so "
            "the request waits for a seat to free up.",
        )
    return (
        f"New booking request for “{a.title}”",
        f"{guest} asked for {_seats(b.seats)} at {_meetup_line(a)}. Approve or reject it.",
    )


def booking_approved(a: Announcement, b: Booking, host: str) -> tuple[str, str]:
    return (
        f"You're in: “{a.title}” on {when(a)}",
        f"{host} approved your booking for {_seats(b.seats)} at {_meetup_line(a)}. "
        "The calendar event is attached to the email.",
    )


def booking_rejected(a: Announcement, host: str, reason: str | None) -> tuple[str, str]:
    body = f"{host} declined your booking for {_meetup_line(a)}."
    if reason:
        body += f" Reason: {reason}"
    return f"Your booking for “{a.title}” was declined", body


def booking_cancelled(a: Announcement, b: Booking, by: str, guest: str) -> tuple[str, str]:
    if by == "guest":
        return (
            f"{guest} cancelled their booking for “{a.title}”",
            f"{guest} cancelled their booking ({_seats(b.seats)}) for {_meetup_line(a)}. "
            "The seats are free again.",
        )
    return (
        f"Your booking for “{a.title}” was cancelled by the host",
        f"The host cancelled your booking ({_seats(b.seats)}) for {_meetup_line(a)}.",
    )


def booking_expired(a: Announcement) -> tuple[str, str]:
    return (
        f"Your booking request for “{a.title}” expired",
        f"{_meetup_line(a)} has started and your request was not approved before "
        "that, so it has expired.",
    )


def waitlist_promoted_guest(a: Announcement, b: Booking, status: str) -> tuple[str, str]:
    if status == "approved":
        return (
            f"A seat freed up: you're in for “{a.title}”",
            f"Your waitlisted booking ({_seats(b.seats)}) for {_meetup_line(a)} is approved.",
        )
    return (
        f"A seat freed up for “{a.title}”",
        f"Your waitlisted booking ({_seats(b.seats)}) for {_meetup_line(a)} moved off the "
        "waitlist and now waits for the host's approval.",
    )


def waitlist_promoted_host(a: Announcement, b: Booking, guest: str) -> tuple[str, str]:
    return (
        f"{guest}'s waitlisted request for “{a.title}” needs your decision",
        f"Seats freed up, so {guest}'s request for {_seats(b.seats)} at {_meetup_line(a)} moved "
        "off the waitlist. Approve or reject it.",
    )


# --- announcement events -------------------------------------------------------------------------

_FIELD_NAMES = {
    "title": "Title",
    "description": "Description",
    "location": "Place",
    "timezone": "Time zone",
    "tickets_count": "Seats",
    "is_free": "Free",
    "price": "Price",
    "sub_only": "Followers only",
    "approval": "Approval",
    "tags": "Tags",
    "event_time": "Time",
    "duration_minutes": "Duration (minutes)",
    "movie_title": "Film",
}


def _value(field: str, value: Any, a: Announcement) -> str:
    if value is None or value == "":
        return "none"
    if field == "event_time" and isinstance(value, str):
        try:
            return local_time(datetime.fromisoformat(value), a)
        except ValueError:
            return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def describe_changes(changed: dict[str, Any], a: Announcement) -> list[str]:
    """One line per changed field (`Time: Friday ... → Saturday ...`); the description's text is
    too long for a line, so it is only named."""
    lines = []
    for field, change in changed.items():
        if field == "movie_id" or not isinstance(change, dict):
            continue  # its title (movie_title) is what people read
        name = _FIELD_NAMES.get(field) or field.replace("_", " ").capitalize()
        if field == "description":
            lines.append(f"{name}: updated")
            continue
        old, new = _value(field, change.get("old"), a), _value(field, change.get("new"), a)
        lines.append(f"{name}: {old} → {new}")
    return lines


def announcement_updated(a: Announcement, changed: dict[str, Any]) -> tuple[str, str]:
    lines = describe_changes(changed, a)
    moved = " (new time)" if "event_time" in changed else ""
    body = "The host changed the meetup you booked:\n" + "\n".join(f"- {line}" for line in lines)
    body += f"\n\nNow: {_meetup_line(a)}."
    return f"“{a.title}” has changed{moved}", body


def announcement_cancelled(a: Announcement, host: str, reason: str | None) -> tuple[str, str]:
    body = f"{host} cancelled {_meetup_line(a)}. Your booking is cancelled."
    if reason:
        body += f" Reason: {reason}"
    return f"Cancelled: “{a.title}” on {when(a)}", body


def new_announcement(a: Announcement, host: str) -> tuple[str, str]:
    seats = _seats(a.tickets_left)
    return (
        f"{host} announced a new meetup: “{a.title}”",
        f"{host}, whom you follow, is hosting {_meetup_line(a)}. {seats} available.",
    )


def new_movie_meetup(a: Announcement, host: str) -> tuple[str, str]:
    """To the followers of the meetup's catalog film (who do not follow the host)."""
    film = a.movie_title or "a film you follow"
    seats = _seats(a.tickets_left)
    return (
        f"A new meetup of {film}: “{a.title}”",
        f"{host} is hosting a meetup of {film}, a film you follow: "
        f"{_meetup_line(a, with_film=False)}. {seats} available.",
    )


# --- reminders and invitations -------------------------------------------------------------------


def _time_left(left: timedelta) -> str:
    """`in 24 hours`, `in 1 hour`, `in 35 minutes`: a late reminder says what is really left."""
    minutes = max(1, round(left.total_seconds() / 60))
    if minutes < 60:
        return "in 1 minute" if minutes == 1 else f"in {minutes} minutes"
    hours = round(minutes / 60)
    return "in 1 hour" if hours == 1 else f"in {hours} hours"


def reminder(a: Announcement, hosting: bool, now: datetime) -> tuple[str, str]:
    soon = _time_left(a.event_time - now)
    role = "you are hosting" if hosting else "you booked"
    return (
        f"Reminder: “{a.title}” starts {soon}",
        f"The meetup {role} starts {soon}: {_meetup_line(a)}.",
    )


def review_invitation(a: Announcement, hosting: bool) -> tuple[str, str]:
    whom = "your guests" if hosting else "your host"
    return (
        f"How was “{a.title}”? Rate {whom}",
        f"{_meetup_line(a)} is over. You can rate {whom} for the next {REVIEW_WINDOW.days} days.",
    )
