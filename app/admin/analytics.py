"""The admin's report, computed in PostgreSQL: a handful of aggregate queries, never one per row.

The period is whole UTC days `date_from`..`date_to` (inclusive; by default the last 30 days).
Two kinds of number come out of it:
- about the meetups *of the period* (their event_time falls in it): announcements by status, their
  bookings by status, the fill rate, the top movies and hosts;
- about *activity in the period* (rows created in it): new users, announcements and bookings
  created per day, notifications and emails.
User totals (all, confirmed, by role) are the current state, whatever the period.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.admin.errors import InvalidDateRange
from app.core import clock
from app.core.i18n import N_plural
from app.core.schemas import ResponseModel
from app.models.announcements import Announcement, AnnouncementStatus
from app.models.bookings import Booking, BookingStatus
from app.models.mail import EmailMessage, EmailStatus
from app.models.notifications import Notification
from app.models.users import Role, User

DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP = 10


# --- the response -----------------------------------------------------------------------------


class RoleCounts(ResponseModel):
    member: int = 0
    moderator: int = 0
    admin: int = 0


class UserStats(BaseModel):
    total: int = Field(description="All accounts, now")
    confirmed: int = Field(description="Accounts with a confirmed email, now")
    active: int = Field(description="Accounts not deactivated, now")
    by_role: RoleCounts
    new_in_range: int = Field(description="Accounts created in the period")


class AnnouncementStatusCounts(ResponseModel):
    open: int = 0
    full: int = 0
    started: int = 0
    finished: int = 0
    cancelled: int = 0


class AnnouncementStats(BaseModel):
    in_range: int = Field(description="Meetups whose event_time falls in the period")
    by_status: AnnouncementStatusCounts = Field(description="Their status now")
    created_in_range: int = Field(description="Announcements created in the period")


class BookingStatusCounts(ResponseModel):
    pending: int = 0
    approved: int = 0
    rejected: int = 0
    cancelled: int = 0
    waitlisted: int = 0
    expired: int = 0


class BookingStats(BaseModel):
    in_range: int = Field(description="Bookings on the meetups of the period")
    by_status: BookingStatusCounts
    created_in_range: int = Field(description="Bookings created in the period")


class FillRate(BaseModel):
    approved_seats: int = Field(description="Approved seats of the non-cancelled meetups")
    tickets: int = Field(description="Seats offered by the non-cancelled meetups")
    rate: float | None = Field(description="approved_seats / tickets (4 decimals), null if none")


class NotificationStats(BaseModel):
    in_app: int = Field(description="In-app notifications created in the period")
    emails_sent: int
    emails_failed: int
    emails_pending: int


class TopMovie(BaseModel):
    title: str
    announcements: int = Field(description="Non-cancelled meetups of the period showing it")
    approved_seats: int


class TopHost(BaseModel):
    user_id: uuid.UUID
    name: str
    announcements: int = Field(description="Non-cancelled meetups of the period they host")
    approved_seats: int


class DailyActivity(BaseModel):
    date: date
    announcements_created: int
    bookings_created: int


class AnalyticsReport(BaseModel):
    """Users, announcements and bookings by status, fill rate, notifications, top movies and
    hosts, and per-day activity over whole UTC days `date_from`..`date_to`."""

    date_from: date
    date_to: date
    generated_at: datetime
    users: UserStats
    announcements: AnnouncementStats
    bookings: BookingStats
    fill_rate: FillRate
    notifications: NotificationStats
    top_movies: list[TopMovie] = Field(description=f"At most {TOP}, most meetups first")
    top_hosts: list[TopHost] = Field(description=f"At most {TOP}, most approved seats first")
    daily: list[DailyActivity] = Field(description="One entry per day of the period, oldest first")


# --- the queries ------------------------------------------------------------------------------


def _period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    today = clock.now().astimezone(UTC).date()
    end = date_to or (today if date_from is None else date_from + timedelta(days=DEFAULT_DAYS - 1))
    start = date_from or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidDateRange()
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidDateRange(
            N_plural(
                "The period may span at most {n} day.", "The period may span at most {n} days."
            ),
            count=MAX_DAYS,
        )
    return start, end


async def _users(session: AsyncSession, start: datetime, end: datetime) -> UserStats:
    role = col(User.role)
    created = col(User.created_at)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(col(User.is_confirmed)),
                func.count().filter(col(User.is_active)),
                func.count().filter(role == Role.member),
                func.count().filter(role == Role.moderator),
                func.count().filter(role == Role.admin),
                func.count().filter(created >= start, created < end),
            ).select_from(User)
        )
    ).one()
    total, confirmed, active, members, moderators, admins, new = row
    return UserStats(
        total=total,
        confirmed=confirmed,
        active=active,
        by_role=RoleCounts(member=members, moderator=moderators, admin=admins),
        new_in_range=new,
    )


async def _announcements(
    session: AsyncSession, in_period: ColumnElement[bool], now: datetime
) -> tuple[AnnouncementStatusCounts, FillRate]:
    # Grouped over a subquery: the CASE (with `now` bound) is written once.
    rows: Select[str, int, int] = select(
        Announcement.status_expression(now).label("status"),
        col(Announcement.approved_seats).label("approved_seats"),
        col(Announcement.tickets_count).label("tickets"),
    ).where(in_period)
    sub = rows.subquery()
    result = await session.execute(
        select(
            sub.c.status, func.count(), func.sum(sub.c.approved_seats), func.sum(sub.c.tickets)
        ).group_by(sub.c.status)
    )
    counts: dict[str, int] = {}
    approved = tickets = 0
    for status, count, seats, offered in result.all():
        counts[status] = count
        if status != AnnouncementStatus.cancelled:
            approved += int(seats or 0)
            tickets += int(offered or 0)
    rate = round(approved / tickets, 4) if tickets else None
    return (
        AnnouncementStatusCounts(**counts),
        FillRate(approved_seats=approved, tickets=tickets, rate=rate),
    )


async def _bookings(session: AsyncSession, in_period: ColumnElement[bool]) -> BookingStatusCounts:
    result = await session.execute(
        select(col(Booking.status), func.count())
        .join(Announcement, col(Announcement.id) == col(Booking.announcement_id))
        .where(in_period)
        .group_by(col(Booking.status))
    )
    return BookingStatusCounts(**{BookingStatus(s).value: n for s, n in result.all()})


async def _notifications(
    session: AsyncSession, start: datetime, end: datetime
) -> NotificationStats:
    email_created = col(EmailMessage.created_at)
    emails = dict(
        (
            await session.execute(
                select(col(EmailMessage.status), func.count())
                .where(email_created >= start, email_created < end)
                .group_by(col(EmailMessage.status))
            )
        ).all()
    )
    created = col(Notification.created_at)
    in_app = await session.scalar(
        select(func.count()).select_from(Notification).where(created >= start, created < end)
    )
    return NotificationStats(
        in_app=in_app or 0,
        emails_sent=emails.get(EmailStatus.sent, 0),
        emails_failed=emails.get(EmailStatus.failed, 0),
        emails_pending=emails.get(EmailStatus.pending, 0),
    )


async def _top_movies(session: AsyncSession, live: ColumnElement[bool]) -> list[TopMovie]:
    title = col(Announcement.movie_title)
    count = func.count().label("announcements")
    seats = func.sum(col(Announcement.approved_seats)).label("approved_seats")
    result = await session.execute(
        select(title, count, seats)
        .where(live, title != "")
        .group_by(title)
        .order_by(count.desc(), seats.desc(), title)
        .limit(TOP)
    )
    return [TopMovie(title=t, announcements=n, approved_seats=int(s or 0)) for t, n, s in result]


async def _top_hosts(session: AsyncSession, live: ColumnElement[bool]) -> list[TopHost]:
    count = func.count().label("announcements")
    seats = func.sum(col(Announcement.approved_seats)).label("approved_seats")
    result = await session.execute(
        select(col(User.id), col(User.name), count, seats)
        .join(User, col(User.id) == col(Announcement.author_id))
        .where(live)
        .group_by(col(User.id), col(User.name))
        .order_by(seats.desc(), count.desc(), col(User.name), col(User.id))
        .limit(TOP)
    )
    return [
        TopHost(user_id=i, name=name, announcements=n, approved_seats=int(s or 0))
        for i, name, n, s in result
    ]


# Every day of the period, zeros included: one aggregate per table, joined to the calendar.
_DAILY = text(
    """
    SELECT days.day::date AS day,
           coalesce(a.n, 0) AS announcements_created,
           coalesce(b.n, 0) AS bookings_created
    FROM generate_series(CAST(:date_from AS date), CAST(:date_to AS date), interval '1 day')
         AS days(day)
    LEFT JOIN (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
        FROM announcement WHERE created_at >= :start AND created_at < :end GROUP BY 1
    ) AS a ON a.day = days.day::date
    LEFT JOIN (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
        FROM booking WHERE created_at >= :start AND created_at < :end GROUP BY 1
    ) AS b ON b.day = days.day::date
    ORDER BY days.day
    """
)


async def _daily(session: AsyncSession, params: dict[str, Any]) -> list[DailyActivity]:
    result = await session.execute(_DAILY, params)
    return [
        DailyActivity(date=day, announcements_created=a, bookings_created=b)
        for day, a, b in result.all()
    ]


async def report(
    session: AsyncSession, *, date_from: date | None = None, date_to: date | None = None
) -> AnalyticsReport:
    first, last = _period(date_from, date_to)
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, UTC)
    now = clock.now()
    event_time = col(Announcement.event_time)
    in_period = (event_time >= start) & (event_time < end)
    live = in_period & col(Announcement.cancelled_at).is_(None)

    users = await _users(session, start, end)
    announcement_counts, fill_rate = await _announcements(session, in_period, now)
    booking_counts = await _bookings(session, in_period)
    daily = await _daily(session, {"date_from": first, "date_to": last, "start": start, "end": end})
    return AnalyticsReport(
        date_from=first,
        date_to=last,
        generated_at=now,
        users=users,
        announcements=AnnouncementStats(
            in_range=sum(announcement_counts.model_dump().values()),
            by_status=announcement_counts,
            created_in_range=sum(day.announcements_created for day in daily),
        ),
        bookings=BookingStats(
            in_range=sum(booking_counts.model_dump().values()),
            by_status=booking_counts,
            created_in_range=sum(day.bookings_created for day in daily),
        ),
        fill_rate=fill_rate,
        notifications=await _notifications(session, start, end),
        top_movies=await _top_movies(session, live),
        top_hosts=await _top_hosts(session, live),
        daily=daily,
    )
