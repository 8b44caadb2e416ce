"""What each notification says: its title (also the email subject) and body, in words a person
understands, in the recipient's language (`locale`, a user's `User.locale`), with the meetup's
time in the meetup's own time zone (formatted by Babel)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.core.i18n import Words, words
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


def local_time(moment: datetime, announcement: Announcement, locale: str) -> str:
    """`Friday 14 March 2026, 19:00 (Europe/Moscow)`: the meetup's wall-clock time."""
    return words(locale).datetime(moment, zone(announcement))


def when(announcement: Announcement, locale: str) -> str:
    return local_time(announcement.event_time, announcement, locale)


def meetup_link(announcement: Announcement) -> str:
    return short_url(announcement.short_code)


def booking_link(booking: Booking) -> str:
    return short_url(booking.short_code)


def _seats(w: Words, n: int) -> str:
    return w.ngettext("{n} seat", "{n} seats", n)


def _meetup_line(w: Words, a: Announcement, *, with_film: bool = True) -> str:
    place = {"title": a.title, "when": when(a, w.locale), "location": a.location}
    if with_film and a.movie_title and a.movie_title != a.title:
        return w._("“{title}” ({film}), {when}, at {location}", film=a.movie_title, **place)
    return w._("“{title}”, {when}, at {location}", **place)


# --- booking events ------------------------------------------------------------------------------


def booking_requested(
    a: Announcement, b: Booking, guest: str, status: str, *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    seats, meetup = _seats(w, b.seats), _meetup_line(w, a)
    if status == "waitlisted":
        return (
            w._("{guest} joined the waitlist for “{title}”", guest=guest, title=a.title),
            w._(
                "{guest} asked for {seats} at {meetup}. The meetup is full, so the request waits "
                "for a seat to free up.",
                guest=guest,
                seats=seats,
                meetup=meetup,
            ),
        )
    return (
        w._("New booking request for “{title}”", title=a.title),
        w._(
            "{guest} asked for {seats} at {meetup}. Approve or reject it.",
            guest=guest,
            seats=seats,
            meetup=meetup,
        ),
    )


def booking_approved(a: Announcement, b: Booking, host: str, *, locale: str) -> tuple[str, str]:
    w = words(locale)
    return (
        w._("You're in: “{title}” on {when}", title=a.title, when=when(a, locale)),
        w._(
            "{host} approved your booking for {seats} at {meetup}. The calendar event is "
            "attached to the email.",
            host=host,
            seats=_seats(w, b.seats),
            meetup=_meetup_line(w, a),
        ),
    )


def booking_rejected(
    a: Announcement, host: str, reason: str | None, *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    body = w._("{host} declined your booking for {meetup}.", host=host, meetup=_meetup_line(w, a))
    if reason:
        body += " " + w._("Reason: {reason}", reason=reason)
    return w._("Your booking for “{title}” was declined", title=a.title), body


def booking_cancelled(
    a: Announcement, b: Booking, by: str, guest: str, *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    seats, meetup = _seats(w, b.seats), _meetup_line(w, a)
    if by == "guest":
        return (
            w._("{guest} cancelled their booking for “{title}”", guest=guest, title=a.title),
            w._(
                "{guest} cancelled their booking ({seats}) for {meetup}. The seats are free again.",
                guest=guest,
                seats=seats,
                meetup=meetup,
            ),
        )
    return (
        w._("Your booking for “{title}” was cancelled by the host", title=a.title),
        w._("The host cancelled your booking ({seats}) for {meetup}.", seats=seats, meetup=meetup),
    )


def booking_expired(a: Announcement, *, locale: str) -> tuple[str, str]:
    w = words(locale)
    return (
        w._("Your booking request for “{title}” expired", title=a.title),
        w._(
            "{meetup} has started and your request was not approved before that, so it has "
            "expired.",
            meetup=_meetup_line(w, a),
        ),
    )


def waitlist_promoted_guest(
    a: Announcement, b: Booking, status: str, *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    seats, meetup = _seats(w, b.seats), _meetup_line(w, a)
    if status == "approved":
        return (
            w._("A seat freed up: you're in for “{title}”", title=a.title),
            w._(
                "Your waitlisted booking ({seats}) for {meetup} is approved.",
                seats=seats,
                meetup=meetup,
            ),
        )
    return (
        w._("A seat freed up for “{title}”", title=a.title),
        w._(
            "Your waitlisted booking ({seats}) for {meetup} moved off the waitlist and now "
            "waits for the host's approval.",
            seats=seats,
            meetup=meetup,
        ),
    )


def waitlist_promoted_host(
    a: Announcement, b: Booking, guest: str, *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    return (
        w._(
            "{guest}'s waitlisted request for “{title}” needs your decision",
            guest=guest,
            title=a.title,
        ),
        w._(
            "Seats freed up, so {guest}'s request for {seats} at {meetup} moved off the "
            "waitlist. Approve or reject it.",
            guest=guest,
            seats=_seats(w, b.seats),
            meetup=_meetup_line(w, a),
        ),
    )


# --- announcement events -------------------------------------------------------------------------


def _field_name(w: Words, field: str) -> str:
    names = {
        "title": w._("Title"),
        "description": w._("Description"),
        "location": w._("Place"),
        "timezone": w._("Time zone"),
        "tickets_count": w._("Seats"),
        "is_free": w._("Free"),
        "price": w._("Price"),
        "sub_only": w._("Followers only"),
        "approval": w._("Approval"),
        "tags": w._("Tags"),
        "event_time": w._("Time"),
        "duration_minutes": w._("Duration (minutes)"),
        "movie_title": w._("Film"),
        "language": w._("Language"),
    }
    return names.get(field) or field.replace("_", " ").capitalize()


def _value(w: Words, field: str, value: Any, a: Announcement) -> str:
    if value is None or value == "":
        return w._("none")
    if field == "event_time" and isinstance(value, str):
        try:
            return local_time(datetime.fromisoformat(value), a, w.locale)
        except ValueError:
            return value
    if isinstance(value, bool):
        return w._("yes") if value else w._("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or w._("none")
    return str(value)


def describe_changes(changed: dict[str, Any], a: Announcement, *, locale: str) -> list[str]:
    """One line per changed field (`Time: Friday ... → Saturday ...`); the description's text is
    too long for a line, so it is only named."""
    w = words(locale)
    lines = []
    for field, change in changed.items():
        if field == "movie_id" or not isinstance(change, dict):
            continue  # its title (movie_title) is what people read
        name = _field_name(w, field)
        if field == "description":
            lines.append(w._("{field}: updated", field=name))
            continue
        old, new = _value(w, field, change.get("old"), a), _value(w, field, change.get("new"), a)
        lines.append(f"{name}: {old} → {new}")
    return lines


def announcement_updated(
    a: Announcement, changed: dict[str, Any], *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    lines = describe_changes(changed, a, locale=locale)
    body = w._("The host changed the meetup you booked:") + "\n"
    body += "\n".join(f"- {line}" for line in lines)
    body += "\n\n" + w._("Now: {meetup}.", meetup=_meetup_line(w, a))
    if "event_time" in changed:
        return w._("“{title}” has changed (new time)", title=a.title), body
    return w._("“{title}” has changed", title=a.title), body


def announcement_cancelled(
    a: Announcement, host: str, reason: str | None, *, locale: str
) -> tuple[str, str]:
    w = words(locale)
    body = w._(
        "{host} cancelled {meetup}. Your booking is cancelled.",
        host=host,
        meetup=_meetup_line(w, a),
    )
    if reason:
        body += " " + w._("Reason: {reason}", reason=reason)
    return w._("Cancelled: “{title}” on {when}", title=a.title, when=when(a, locale)), body


def _available(w: Words, n: int) -> str:
    return w.ngettext("{n} seat available.", "{n} seats available.", n)


def new_announcement(a: Announcement, host: str, *, locale: str) -> tuple[str, str]:
    w = words(locale)
    return (
        w._("{host} announced a new meetup: “{title}”", host=host, title=a.title),
        w._("{host}, whom you follow, is hosting {meetup}.", host=host, meetup=_meetup_line(w, a))
        + " "
        + _available(w, a.tickets_left),
    )


def new_movie_meetup(a: Announcement, host: str, *, locale: str) -> tuple[str, str]:
    """To the followers of the meetup's catalog film (who do not follow the host)."""
    w = words(locale)
    film = a.movie_title or w._("a film you follow")
    return (
        w._("A new meetup of {film}: “{title}”", film=film, title=a.title),
        w._(
            "{host} is hosting a meetup of {film}, a film you follow: {meetup}.",
            host=host,
            film=film,
            meetup=_meetup_line(w, a, with_film=False),
        )
        + " "
        + _available(w, a.tickets_left),
    )


# --- reminders and invitations -------------------------------------------------------------------


def _time_left(w: Words, left: timedelta) -> str:
    """`in 24 hours`, `in 1 hour`, `in 35 minutes`: a late reminder says what is really left."""
    minutes = max(1, round(left.total_seconds() / 60))
    if minutes < 60:
        return w.ngettext("in {n} minute", "in {n} minutes", minutes)
    return w.ngettext("in {n} hour", "in {n} hours", round(minutes / 60))


def reminder(a: Announcement, hosting: bool, now: datetime, *, locale: str) -> tuple[str, str]:
    w = words(locale)
    soon, title, meetup = _time_left(w, a.event_time - now), a.title, _meetup_line(w, a)
    if hosting:
        body = w._("The meetup you are hosting starts {soon}: {meetup}.", soon=soon, meetup=meetup)
    else:
        body = w._("The meetup you booked starts {soon}: {meetup}.", soon=soon, meetup=meetup)
    return w._("Reminder: “{title}” starts {soon}", title=title, soon=soon), body


def review_invitation(a: Announcement, hosting: bool, *, locale: str) -> tuple[str, str]:
    w = words(locale)
    meetup, days = _meetup_line(w, a), REVIEW_WINDOW.days
    if hosting:
        return (
            w._("How was “{title}”? Rate your guests", title=a.title),
            w.ngettext(
                "{meetup} is over. You can rate your guests for the next {n} day.",
                "{meetup} is over. You can rate your guests for the next {n} days.",
                days,
                meetup=meetup,
            ),
        )
    return (
        w._("How was “{title}”? Rate your host", title=a.title),
        w.ngettext(
            "{meetup} is over. You can rate your host for the next {n} day.",
            "{meetup} is over. You can rate your host for the next {n} days.",
            days,
            meetup=meetup,
        ),
    )
