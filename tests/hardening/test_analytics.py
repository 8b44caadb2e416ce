"""GET /api/v1/admin/analytics on a seeded data set: every number checked by hand.

The clock stands at 2026-03-20 12:00 UTC and the report covers 2026-03-01..2026-03-31.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.shortcodes import new_code
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus
from app.models.mail import EmailMessage, EmailStatus
from app.models.notifications import Notification
from app.models.users import Role, User
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
URL = "/api/v1/admin/analytics"


def at(text: str) -> datetime:
    """An ISO datetime, UTC unless it names its offset."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


class Seed:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.rows: list[Any] = []
        self.users: dict[str, uuid.UUID] = {}
        self.announcements: dict[str, Announcement] = {}

    def user(
        self,
        key: str,
        created: str,
        *,
        role: Role = Role.member,
        confirmed: bool = True,
        active: bool = True,
    ) -> None:
        user = User(
            email=f"{key}@example.com",
            name=key,
            password_hash="not-a-real-hash",
            role=role,
            is_confirmed=confirmed,
            is_active=active,
            created_at=at(created),
        )
        self.users[key] = user.id
        self.rows.append(user)

    def announcement(
        self,
        key: str,
        host: str,
        movie: str,
        event: str,
        created: str,
        *,
        tickets: int,
        approved: int,
        duration: int = 120,
        cancelled: str | None = None,
    ) -> None:
        event_time = at(event)
        announcement = Announcement(
            author_id=self.users[host],
            title=f"{movie or 'Surprise'} night",
            movie_title=movie,
            location="Somewhere",
            event_time=event_time,
            duration_minutes=duration,
            ends_at=event_time + timedelta(minutes=duration),
            tickets_count=tickets,
            approved_seats=approved,
            cancelled_at=at(cancelled) if cancelled else None,
            short_code=new_code(),
            created_at=at(created),
        )
        self.announcements[key] = announcement
        self.rows.append(announcement)

    def booking(
        self, announcement: str, guest: str, seats: int, status: BookingStatus, created: str
    ) -> None:
        meetup = self.announcements[announcement]
        self.rows.append(
            Booking(
                announcement_id=meetup.id,
                guest_id=self.users[guest],
                seats=seats,
                status=status,
                event_time=meetup.event_time,
                ends_at=meetup.ends_at,
                short_code=new_code(),
                created_at=at(created),
            )
        )

    def notification(self, user: str, created: str) -> None:
        self.rows.append(
            Notification(
                user_id=self.users[user],
                kind="booking_approved",
                title="t",
                body="b",
                dedupe_key=uuid.uuid4().hex,
                created_at=at(created),
            )
        )

    def email(self, status: EmailStatus, created: str) -> None:
        self.rows.append(
            EmailMessage(
                to_address="someone@example.com",
                subject="s",
                text_body="t",
                html_body="h",
                status=status,
                created_at=at(created),
            )
        )

    async def save(self) -> None:
        async with self.app.state.db.sessionmaker() as session, session.begin():
            # Users, then announcements, then the rest: no ORM relationship orders the inserts.
            for kind in (User, Announcement, object):
                batch = [row for row in self.rows if isinstance(row, kind)]
                self.rows = [row for row in self.rows if row not in batch]
                session.add_all(batch)
                await session.flush()


@pytest.fixture
async def admin(users: UserFactory, clock: TestClock) -> TestUser:
    # Signed in at the real time (python-jose also checks `exp` against the wall clock), created
    # after the period: not a new user of it. Then the clock goes back to the report's "now".
    admin = await users.admin()
    clock.set(NOW)
    return admin


@pytest.fixture
async def seeded(app: FastAPI, admin: TestUser) -> Seed:
    seed = Seed(app)
    seed.user("mod", "2026-03-02T08:00:00", role=Role.moderator)
    seed.user("hana", "2026-02-10T08:00:00")
    seed.user("bob", "2026-03-05T08:00:00")
    seed.user("gina", "2026-03-10T08:00:00")
    seed.user("gus", "2026-03-10T09:00:00", confirmed=False)
    seed.user("late", "2026-04-02T08:00:00")
    seed.user("gone", "2025-12-01T08:00:00", confirmed=False, active=False)

    seed.announcement("A1", "hana", "Stalker", "2026-03-05T19:00:00", "2026-03-01T10:00:00",
                      tickets=4, approved=3)  # fmt: skip
    # Started at 11:00, runs three hours: still going at 12:00.
    seed.announcement("A2", "hana", "Stalker", "2026-03-20T11:00:00", "2026-03-01T15:00:00",
                      tickets=2, approved=2, duration=180)  # fmt: skip
    seed.announcement("A3", "bob", "Solaris", "2026-03-25T19:00:00", "2026-03-03T10:00:00",
                      tickets=3, approved=3)  # fmt: skip
    # Created 01:30 in Moscow on the 3rd, which is the 2nd in UTC: days are UTC days.
    seed.announcement("A4", "bob", "Mirror", "2026-03-28T19:00:00", "2026-03-03T01:30:00+03:00",
                      tickets=5, approved=1)  # fmt: skip
    seed.announcement("A5", "hana", "Solaris", "2026-03-27T19:00:00", "2026-02-20T10:00:00",
                      tickets=10, approved=0, cancelled="2026-03-10T10:00:00")  # fmt: skip
    seed.announcement("A6", "bob", "Stalker", "2026-04-05T19:00:00", "2026-03-15T10:00:00",
                      tickets=4, approved=1)  # fmt: skip
    seed.announcement("A7", "hana", "", "2026-03-29T19:00:00", "2026-02-25T10:00:00",
                      tickets=1, approved=0)  # fmt: skip

    approved = BookingStatus.approved
    seed.booking("A1", "gina", 2, approved, "2026-03-02T10:00:00")
    seed.booking("A1", "gus", 1, approved, "2026-03-02T11:00:00")
    seed.booking("A1", "mod", 1, BookingStatus.rejected, "2026-03-03T10:00:00")
    seed.booking("A2", "gina", 2, approved, "2026-03-04T10:00:00")
    seed.booking("A2", "gus", 1, BookingStatus.expired, "2026-03-07T10:00:00")
    seed.booking("A3", "gina", 3, approved, "2026-03-04T11:00:00")
    seed.booking("A3", "gus", 1, BookingStatus.waitlisted, "2026-03-06T10:00:00")
    seed.booking("A4", "gus", 1, approved, "2026-03-06T11:00:00")
    seed.booking("A4", "gina", 1, BookingStatus.pending, "2026-03-06T12:00:00")
    seed.booking("A5", "gina", 2, BookingStatus.cancelled, "2026-02-28T10:00:00")
    seed.booking("A6", "gina", 1, approved, "2026-03-16T10:00:00")

    seed.notification("gina", "2026-03-02T10:00:00")
    seed.notification("gina", "2026-03-04T10:00:00")
    seed.notification("hana", "2026-02-28T23:59:59")  # before the period
    seed.notification("bob", "2026-03-31T23:30:00")  # the last half hour of the period
    seed.notification("bob", "2026-04-01T00:00:00")  # the first instant after it

    seed.email(EmailStatus.sent, "2026-03-02T10:00:00")
    seed.email(EmailStatus.sent, "2026-03-05T10:00:00")
    seed.email(EmailStatus.failed, "2026-03-06T10:00:00")
    seed.email(EmailStatus.pending, "2026-03-19T10:00:00")
    seed.email(EmailStatus.sent, "2026-02-27T10:00:00")
    seed.email(EmailStatus.failed, "2026-04-01T00:00:00")
    await seed.save()
    return seed


async def test_report_on_the_seeded_data_has_every_number_right(
    client: httpx.AsyncClient, admin: TestUser, seeded: Seed
) -> None:
    response = await client.get(URL, params=PERIOD, headers=admin.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["date_from"] == "2026-03-01"
    assert report["date_to"] == "2026-03-31"
    assert report["generated_at"].startswith("2026-03-20T12:00:00")

    assert report["users"] == {
        "total": 8,  # the admin and the seven seeded accounts
        "confirmed": 6,
        "active": 7,
        "by_role": {"member": 6, "moderator": 1, "admin": 1},
        "new_in_range": 4,  # mod, bob, gina, gus
    }
    # Meetups of the period: A1..A5 and A7 (A6 is in April).
    assert report["announcements"] == {
        "in_range": 6,
        "by_status": {"open": 2, "full": 1, "started": 1, "finished": 1, "cancelled": 1},
        "created_in_range": 5,  # A1, A2, A3, A4 (the 2nd in UTC), A6
    }
    # The SQL status is Announcement.status_at's.
    in_period = [a for key, a in seeded.announcements.items() if key != "A6"]
    assert Counter(a.status_at(NOW).value for a in in_period) == {
        k: v for k, v in report["announcements"]["by_status"].items() if v
    }
    assert report["bookings"] == {
        "in_range": 10,  # every booking but the one on A6
        "by_status": {
            "pending": 1,
            "approved": 5,
            "rejected": 1,
            "cancelled": 1,
            "waitlisted": 1,
            "expired": 1,
        },
        "created_in_range": 10,  # every booking but the one of February
    }
    # Non-cancelled meetups of the period: A1 3/4, A2 2/2, A3 3/3, A4 1/5, A7 0/1.
    assert report["fill_rate"] == {"approved_seats": 9, "tickets": 15, "rate": 0.6}
    assert report["notifications"] == {
        "in_app": 3,
        "emails_sent": 2,
        "emails_failed": 1,
        "emails_pending": 1,
    }
    assert report["top_movies"] == [
        {"title": "Stalker", "announcements": 2, "approved_seats": 5},
        {"title": "Solaris", "announcements": 1, "approved_seats": 3},  # A5 is cancelled
        {"title": "Mirror", "announcements": 1, "approved_seats": 1},
    ]
    assert report["top_hosts"] == [
        {
            "user_id": str(seeded.users["hana"]),
            "name": "hana",
            "announcements": 3,
            "approved_seats": 5,
        },
        {
            "user_id": str(seeded.users["bob"]),
            "name": "bob",
            "announcements": 2,
            "approved_seats": 4,
        },
    ]

    daily = report["daily"]
    assert [day["date"] for day in daily] == [
        (date(2026, 3, 1) + timedelta(days=n)).isoformat() for n in range(31)
    ]
    announcements_by_day = {
        d["date"]: d["announcements_created"] for d in daily if d["announcements_created"]
    }
    bookings_by_day = {d["date"]: d["bookings_created"] for d in daily if d["bookings_created"]}
    assert announcements_by_day == {
        "2026-03-01": 2,
        "2026-03-02": 1,
        "2026-03-03": 1,
        "2026-03-15": 1,
    }
    assert bookings_by_day == {
        "2026-03-02": 2,
        "2026-03-03": 1,
        "2026-03-04": 2,
        "2026-03-06": 3,
        "2026-03-07": 1,
        "2026-03-16": 1,
    }


async def test_status_counts_follow_the_clock(
    client: httpx.AsyncClient, admin: TestUser, seeded: Seed, clock: TestClock
) -> None:
    clock.set(datetime(2026, 4, 1, 12, 0, tzinfo=UTC))  # every meetup of March is over
    report = (await client.get(URL, params=PERIOD, headers=admin.headers)).json()
    assert report["announcements"]["by_status"] == {
        "open": 0,
        "full": 0,
        "started": 0,
        "finished": 5,
        "cancelled": 1,
    }


async def test_a_narrow_period_counts_only_its_days(
    client: httpx.AsyncClient, admin: TestUser, seeded: Seed
) -> None:
    response = await client.get(
        URL, params={"date_from": "2026-03-03", "date_to": "2026-03-04"}, headers=admin.headers
    )
    report = response.json()
    assert report["announcements"]["in_range"] == 0  # no meetup takes place on those days
    assert report["announcements"]["created_in_range"] == 1  # A3 (A4 is the 2nd in UTC)
    assert report["bookings"]["created_in_range"] == 3
    assert report["fill_rate"] == {"approved_seats": 0, "tickets": 0, "rate": None}
    assert report["top_movies"] == report["top_hosts"] == []
    assert [(d["date"], d["bookings_created"]) for d in report["daily"]] == [
        ("2026-03-03", 1),
        ("2026-03-04", 2),
    ]


async def test_default_period_is_the_last_30_days_and_an_empty_database_is_all_zeros(
    client: httpx.AsyncClient, admin: TestUser
) -> None:
    report = (await client.get(URL, headers=admin.headers)).json()
    assert report["date_to"] == "2026-03-20"
    assert report["date_from"] == "2026-02-19"
    assert len(report["daily"]) == 30
    assert all(d["announcements_created"] == d["bookings_created"] == 0 for d in report["daily"])
    assert report["users"]["total"] == 1
    assert report["announcements"]["in_range"] == report["bookings"]["in_range"] == 0
    assert report["fill_rate"]["rate"] is None


async def test_a_datetime_instead_of_a_date_is_422(
    client: httpx.AsyncClient, admin: TestUser
) -> None:
    moscow = datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    response = await client.get(
        URL, params={"date_from": moscow.isoformat()}, headers=admin.headers
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"date_from": "2025-01-01", "date_to": "2026-03-01"},  # more than 366 days
    ],
)
async def test_an_impossible_period_is_422(
    client: httpx.AsyncClient, admin: TestUser, params: dict[str, str]
) -> None:
    response = await client.get(URL, params=params, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_date_range"


async def test_only_admins_see_the_report(client: httpx.AsyncClient, users: UserFactory) -> None:
    member = await users.create()
    moderator = await users.moderator()
    assert (await client.get(URL)).status_code == 401
    assert (await client.get(URL, headers=member.headers)).json()["code"] == "forbidden"
    assert (await client.get(URL, headers=moderator.headers)).status_code == 403
