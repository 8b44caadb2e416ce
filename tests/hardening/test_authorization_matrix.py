"""Who may call what: every route of API.md, called by an anonymous caller, a member who neither
owns nor takes part in anything, a moderator and an admin (neither of them involved either).

One row per route: the status each of the four gets. 401 without a token; 403 for a role or an
ownership the caller lacks; 404 for a resource the caller may not even know exists (someone else's
booking or notification); a 2xx (or the route's own answer, the same for everyone) otherwise.
Every test builds the same small world from scratch, so a caller's write never changes another's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.announcements.models import Announcement, Approval
from app.bookings.models import Booking, BookingStatus
from app.core.shortcodes import new_code
from app.movies.models import Movie
from app.notifications.models import Notification
from tests.support.announcements import announcement_body
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory

CALLERS = ("anonymous", "member", "moderator", "admin")


@dataclass
class World:
    """A host with an upcoming meetup (a guest's pending booking on it), a meetup without bookings,
    a finished meetup the guest reviewed, a movie, the guest's notification, and the callers."""

    host: TestUser
    guest: TestUser
    bystander: TestUser  # whose credentials the "anyone" routes use
    callers: dict[str, TestUser | None]
    announcement_id: uuid.UUID
    short_code: str
    spare_id: uuid.UUID
    finished_id: uuid.UUID
    booking_id: uuid.UUID
    review_id: uuid.UUID
    movie_id: uuid.UUID
    notification_id: uuid.UUID


async def _insert(app: FastAPI, *rows: Any) -> None:
    async with app.state.db.sessionmaker() as session, session.begin():
        for row in rows:  # one by one: no ORM relationship orders the inserts
            session.add(row)
            await session.flush()


def _meetup(host: TestUser, start: timedelta, now: datetime, **extra: Any) -> Announcement:
    event_time = now + start
    return Announcement(
        author_id=host.id,
        title="Stalker night",
        movie_title="Stalker",
        location="My place",
        event_time=event_time,
        duration_minutes=60,
        ends_at=event_time + timedelta(minutes=60),
        tickets_count=4,
        approval=Approval.manual,
        short_code=new_code(),
        **extra,
    )


@pytest.fixture
async def world(
    app: FastAPI, client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> World:
    host, guest, bystander = await users.create(), await users.create(), await users.create()
    callers: dict[str, TestUser | None] = {
        "anonymous": None,
        "member": await users.create(),
        "moderator": await users.moderator(),
        "admin": await users.admin(),
    }
    finished = _meetup(host, timedelta(hours=1), clock.now, approved_seats=1)
    upcoming = _meetup(host, timedelta(days=3), clock.now)
    spare = _meetup(host, timedelta(days=4), clock.now)
    movie = Movie(title="Solaris", year=1972, genres=["drama"], runtime_minutes=167)
    await _insert(app, finished, upcoming, spare, movie)
    approved = Booking(
        announcement_id=finished.id,
        guest_id=guest.id,
        seats=1,
        status=BookingStatus.approved,
        event_time=finished.event_time,
        ends_at=finished.ends_at,
        approved_at=clock.now,
        short_code=new_code(),
    )
    pending = Booking(
        announcement_id=upcoming.id,
        guest_id=guest.id,
        seats=1,
        status=BookingStatus.pending,
        event_time=upcoming.event_time,
        ends_at=upcoming.ends_at,
        short_code=new_code(),
    )
    notification = Notification(
        user_id=guest.id, kind="booking_requested", title="t", body="b", dedupe_key=new_code()
    )
    await _insert(app, approved, pending, notification)

    clock.advance(hours=3)  # the first meetup is over: its guest reviews the host
    review = await client.post(
        f"/api/v1/announcements/{finished.id}/reviews",
        headers=guest.headers,
        json={"target_user_id": str(host.id), "score": 5},
    )
    assert review.status_code == 201, review.text
    return World(
        host=host,
        guest=guest,
        bystander=bystander,
        callers=callers,
        announcement_id=upcoming.id,
        short_code=upcoming.short_code,
        spare_id=spare.id,
        finished_id=finished.id,
        booking_id=pending.id,
        review_id=uuid.UUID(review.json()["id"]),
        movie_id=movie.id,
        notification_id=notification.id,
    )


Body = Callable[[World, str], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {announcement} {spare} {finished} {booking} {review} {movie} {notification}
    # {host} {guest} {code} are filled from the world
    expected: tuple[int, int, int, int]  # anonymous, member, moderator, admin
    json: Body = None
    form: Body = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def everyone(status: int) -> tuple[int, int, int, int]:
    return (status, status, status, status)


SIGNED_IN_2XX = (401, 200, 200, 200)
SIGNED_IN_204 = (401, 204, 204, 204)
MODERATORS = (401, 403, 200, 200)
ADMINS = (401, 403, 403, 200)
OWNER_ONLY = (401, 403, 403, 403)  # nobody in the row owns the resource, not even the admin
HIDDEN = (401, 404, 404, 404)  # someone else's: not even its existence
PARTIES_AND_ADMIN = (401, 404, 404, 200)  # the guest, the host, an admin

NEW_PASSWORD = "a new password for this test"

ROWS = [
    # --- auth and users
    Row("POST", "/api/v1/auth/register", everyone(201),
        json=lambda w, c: {"email": f"new-{c}@example.com", "password": NEW_PASSWORD, "name": "N"}),
    Row("POST", "/api/v1/auth/confirm", everyone(400),
        json=lambda w, c: {"email": w.bystander.email, "code": "000000"}),
    Row("POST", "/api/v1/auth/confirm/resend", everyone(202),
        json=lambda w, c: {"email": w.bystander.email}),
    Row("POST", "/api/v1/auth/login", everyone(200),
        json=lambda w, c: {"email": w.bystander.email, "password": w.bystander.password}),
    Row("POST", "/api/v1/auth/token", everyone(200),
        form=lambda w, c: {"username": w.bystander.email, "password": w.bystander.password}),
    Row("POST", "/api/v1/auth/refresh", everyone(200),
        json=lambda w, c: {"refresh_token": w.bystander.tokens.refresh_token}),  # type: ignore[union-attr]
    Row("POST", "/api/v1/auth/logout", SIGNED_IN_204, json=lambda w, c: {}),
    Row("GET", "/api/v1/auth/me", SIGNED_IN_2XX),
    Row("PATCH", "/api/v1/users/me", SIGNED_IN_2XX, json=lambda w, c: {"bio": "Films!"}),
    Row("POST", "/api/v1/auth/password/change", SIGNED_IN_204,
        json=lambda w, c: {"current_password": w.bystander.password, "new_password": NEW_PASSWORD}),
    Row("POST", "/api/v1/auth/password/forgot", everyone(202),
        json=lambda w, c: {"email": w.bystander.email}),
    Row("POST", "/api/v1/auth/password/reset", everyone(400),
        json=lambda w, c: {"token": "not-a-token", "new_password": NEW_PASSWORD}),
    Row("GET", "/api/v1/users/{host}", everyone(200)),
    Row("PUT", "/api/v1/users/{host}/follow", SIGNED_IN_204),
    Row("DELETE", "/api/v1/users/{host}/follow", SIGNED_IN_204),
    Row("GET", "/api/v1/users/{host}/followers", everyone(200)),
    Row("GET", "/api/v1/users/{host}/following", everyone(200)),
    Row("PATCH", "/api/v1/admin/users/{guest}", ADMINS, json=lambda w, c: {"role": "member"}),
    # --- movies
    Row("GET", "/api/v1/movies", everyone(200)),
    Row("GET", "/api/v1/movies/{movie}", everyone(200)),
    Row("POST", "/api/v1/movies", (401, 403, 201, 201),
        json=lambda w, c: {"title": f"Mirror ({c})", "year": 1975}),
    Row("PATCH", "/api/v1/movies/{movie}", MODERATORS, json=lambda w, c: {"description": "Space."}),
    # --- announcements
    Row("POST", "/api/v1/announcements", (401, 201, 201, 201),
        json=lambda w, c: announcement_body()),
    Row("GET", "/api/v1/announcements", everyone(200)),
    Row("GET", "/api/v1/announcements/{announcement}", everyone(200)),
    Row("PATCH", "/api/v1/announcements/{announcement}", ADMINS,
        json=lambda w, c: {"description": "Now with tea."}),
    Row("POST", "/api/v1/announcements/{announcement}/cancel", ADMINS, json=lambda w, c: {}),
    Row("DELETE", "/api/v1/announcements/{spare}", (401, 403, 403, 204)),
    Row("GET", "/api/v1/announcements/{announcement}/bookings", ADMINS),
    Row("GET", "/api/v1/announcements/{announcement}/calendar.ics", everyone(200)),
    Row("PUT", "/api/v1/announcements/{announcement}/like", SIGNED_IN_204),
    Row("DELETE", "/api/v1/announcements/{announcement}/like", SIGNED_IN_204),
    Row("PUT", "/api/v1/announcements/{announcement}/favorite", SIGNED_IN_204),
    Row("DELETE", "/api/v1/announcements/{announcement}/favorite", SIGNED_IN_204),
    Row("GET", "/api/v1/users/me/favorites", SIGNED_IN_2XX),
    Row("GET", "/s/{code}", everyone(307)),
    # --- bookings
    Row("POST", "/api/v1/announcements/{announcement}/bookings", (401, 201, 201, 201),
        json=lambda w, c: {"seats": 1}),
    Row("GET", "/api/v1/bookings", SIGNED_IN_2XX),
    Row("GET", "/api/v1/bookings/{booking}", PARTIES_AND_ADMIN),
    Row("POST", "/api/v1/bookings/{booking}/approve", PARTIES_AND_ADMIN),
    Row("POST", "/api/v1/bookings/{booking}/reject", PARTIES_AND_ADMIN, json=lambda w, c: {}),
    Row("POST", "/api/v1/bookings/{booking}/cancel", PARTIES_AND_ADMIN),
    # --- reviews
    Row("POST", "/api/v1/announcements/{finished}/reviews", OWNER_ONLY,
        json=lambda w, c: {"target_user_id": str(w.host.id), "score": 4}),
    Row("GET", "/api/v1/announcements/{finished}/reviews", everyone(200)),
    Row("GET", "/api/v1/users/{host}/reviews", everyone(200)),
    Row("POST", "/api/v1/reviews/{review}/hide", MODERATORS),
    Row("POST", "/api/v1/reviews/{review}/unhide", MODERATORS),
    Row("DELETE", "/api/v1/reviews/{review}", OWNER_ONLY),
    # --- notifications
    Row("GET", "/api/v1/notifications", SIGNED_IN_2XX),
    Row("POST", "/api/v1/notifications/{notification}/read", HIDDEN),
    Row("POST", "/api/v1/notifications/read-all", SIGNED_IN_204),
    # --- operations
    Row("GET", "/health", everyone(200)),
    Row("GET", "/ready", everyone(200)),
    Row("GET", "/metrics", everyone(200)),
    Row("GET", "/api/v1/admin/jobs", ADMINS),
    Row("POST", "/api/v1/admin/jobs/no-such-job/retry", (401, 403, 403, 404)),
    Row("POST", "/api/v1/admin/jobs/no-such-job/abort", (401, 403, 403, 404)),
    Row("GET", "/api/v1/admin/analytics", ADMINS),
    Row("GET", "/admin/login", everyone(200)),
]  # fmt: skip


def _path(row: Row, world: World) -> str:
    return row.path.format(
        announcement=world.announcement_id,
        spare=world.spare_id,
        finished=world.finished_id,
        booking=world.booking_id,
        review=world.review_id,
        movie=world.movie_id,
        notification=world.notification_id,
        host=world.host.id,
        guest=world.guest.id,
        code=world.short_code,
    )


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_authorization_matrix(
    client: httpx.AsyncClient, world: World, row: Row, caller: str
) -> None:
    user = world.callers[caller]
    headers = user.headers if user else {}
    kwargs: dict[str, Any] = {}
    if row.json is not None:
        kwargs["json"] = row.json(world, caller)
    if row.form is not None:
        kwargs["data"] = row.form(world, caller)
    if row.path == "/api/v1/auth/password/change" and user is not None:
        kwargs["json"]["current_password"] = user.password  # the caller's own
    response = await client.request(row.method, _path(row, world), headers=headers, **kwargs)
    expected = row.expected[CALLERS.index(caller)]
    assert response.status_code == expected, f"{caller}: {response.status_code} {response.text}"
    if expected == 401:
        assert response.json()["code"] == "not_authenticated"
        assert response.headers["www-authenticate"] == "Bearer"


def test_every_documented_route_is_in_the_matrix(app: FastAPI) -> None:
    """A new route cannot slip past the matrix: each operation of the OpenAPI has a row.
    (The HTML pages under /admin are not in the schema; /admin/login's form is a row.)"""

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}|no-such-job", "{}", path)

    covered = {(row.method, shape(row.path)) for row in ROWS}
    documented = {
        (method.upper(), shape(path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert len(documented) > 50
    assert documented - covered == set()


# Signing in on the form, then the monitor page and its retry button, with whatever session
# cookie that sign-in gave (none but the admin's). A bearer token never opens the pages.
ADMIN_PAGES = {
    "anonymous": (422, 303, 303),
    "member": (403, 303, 303),
    "moderator": (403, 303, 303),
    "admin": (303, 200, 404),
}


@pytest.mark.parametrize("caller", CALLERS)
async def test_admin_pages_by_caller(client: httpx.AsyncClient, world: World, caller: str) -> None:
    user = world.callers[caller]
    bearer_only = await client.get("/admin", headers=user.headers if user else {})
    assert bearer_only.status_code == 303
    assert bearer_only.headers["location"] == "/admin/login"

    form = {"email": user.email, "password": user.password} if user else {}
    signed_in = await client.post("/admin/login", data=form)
    monitor = await client.get("/admin")
    retry = await client.post("/admin/jobs/no-such-job/retry")
    statuses = (signed_in.status_code, monitor.status_code, retry.status_code)
    assert statuses == ADMIN_PAGES[caller]
    if caller != "admin":
        assert monitor.headers["location"] == "/admin/login"
