"""An announcement as an iCalendar (RFC 5545) event: the .ics download and email attachments."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from app.core import clock
from app.core.shortcodes import short_url
from app.models.announcements import Announcement

PRODID = "-//Movie Meetup//Movie Meetup API//EN"


def event_uid(announcement: Announcement) -> str:
    """Stable for the life of the announcement, so calendars update the event in place."""
    return f"announcement-{announcement.id}@moviemeetup"


def _zone(announcement: Announcement) -> ZoneInfo:
    try:
        return ZoneInfo(announcement.timezone)
    except Exception:  # validated on input; an old or hand-edited row falls back to UTC
        return ZoneInfo("UTC")


def build_ics(announcement: Announcement) -> bytes:
    """A VCALENDAR with one VEVENT: local start and end in the meetup's time zone (TZID, with its
    VTIMEZONE), the short link in DESCRIPTION and URL, STATUS:CANCELLED once cancelled."""
    zone = _zone(announcement)
    link = short_url(announcement.short_code)
    description = "\n\n".join(
        part
        for part in (
            f"Film: {announcement.movie_title}" if announcement.movie_title else "",
            announcement.description,
            f"Details and booking: {link}",
        )
        if part
    )
    event = Event()
    event.add("uid", event_uid(announcement))
    event.add("dtstamp", clock.now())
    event.add("dtstart", announcement.event_time.astimezone(zone))
    event.add("dtend", announcement.ends_at.astimezone(zone))
    event.add("summary", announcement.title)
    event.add("location", announcement.location)
    event.add("description", description)
    event.add("url", link)
    event.add("last-modified", announcement.updated_at)
    # Grows with every change, so a calendar that imported an older copy takes the new one.
    event.add(
        "sequence",
        max(0, int((announcement.updated_at - announcement.created_at).total_seconds())),
    )
    event.add("status", "CANCELLED" if announcement.cancelled_at is not None else "CONFIRMED")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    # The VTIMEZONE only needs the rules around this event (and stays short for email).
    calendar.add_missing_timezones(
        first_date=(announcement.event_time - timedelta(days=366)).date(),
        last_date=(announcement.ends_at + timedelta(days=366)).date(),
    )
    ical: bytes = calendar.to_ical()
    return ical
