"""Who may call what: every route of docs/api.md, called by an anonymous caller, a member who neither
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
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.shortcodes import new_code
from app.models.announcements import Announcement, Approval
from app.models.bookings import Booking, BookingStatus
from app.models.movies import Movie
from app.models.notifications import Notification
from app.models.webhooks import WebhookDelivery, WebhookEndpoint
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
    movie_review_id: uuid.UUID
    notification_id: uuid.UUID
    webhook_id: uuid.UUID
    delivery_id: uuid.UUID


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
    webhook = WebhookEndpoint(
        url="https://hooks.example.com/meetup", events=["booking_approved"], secret="whsec_eA=="
    )
    await _insert(app, approved, pending, notification, webhook)
    delivery = WebhookDelivery(
        endpoint_id=webhook.id, event_id=uuid.uuid4(), event_kind="booking_approved"
    )
    await _insert(app, delivery)

    clock.advance(hours=3)  # the first meetup is over: its guest reviews the host
    review = await client.post(
        f"/api/v1/announcements/{finished.id}/reviews",
        headers=guest.headers,
        json={"target_user_id": str(host.id), "score": 5},
    )
    assert review.status_code == 201, review.text
    film_review = await client.post(
        f"/api/v1/movies/{movie.id}/reviews", headers=guest.headers, json={"score": 9}
    )
    assert film_review.status_code == 201, film_review.text
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
        movie_review_id=uuid.UUID(film_review.json()["id"]),
        notification_id=notification.id,
        webhook_id=webhook.id,
        delivery_id=delivery.id,
    )


Body = Callable[[World, str], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {announcement} {spare} {finished} {booking} {review} {movie} {movie_review}
    # {notification} {webhook} {delivery}
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
    # --- films and friends
    Row("PUT", "/api/v1/movies/{movie}/follow", SIGNED_IN_204),
    Row("DELETE", "/api/v1/movies/{movie}/follow", SIGNED_IN_204),
    Row("GET", "/api/v1/users/me/movies", SIGNED_IN_2XX),
    Row("POST", "/api/v1/movies/{movie}/reviews", (401, 201, 201, 201),
        json=lambda w, c: {"score": 7, "text": "Slow and true."}),
    Row("GET", "/api/v1/movies/{movie}/reviews", everyone(200)),
    Row("PATCH", "/api/v1/movie-reviews/{movie_review}", OWNER_ONLY, json=lambda w, c: {"score": 1}),
    Row("DELETE", "/api/v1/movie-reviews/{movie_review}", OWNER_ONLY),
    Row("PUT", "/api/v1/movie-reviews/{movie_review}/like", SIGNED_IN_204),
    Row("DELETE", "/api/v1/movie-reviews/{movie_review}/like", SIGNED_IN_204),
    Row("POST", "/api/v1/movie-reviews/{movie_review}/hide", MODERATORS),
    Row("POST", "/api/v1/movie-reviews/{movie_review}/unhide", MODERATORS),
    Row("GET", "/api/v1/users/{host}/friends", everyone(200)),
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
    Row("GET", "/api/v1/admin/jobs/stats", ADMINS),
    Row("GET", "/api/v1/admin/jobs/no-such-job", (401, 403, 403, 404)),
    Row("DELETE", "/api/v1/admin/jobs/no-such-job", (401, 403, 403, 404)),
    Row("GET", "/api/v1/admin/analytics", ADMINS),
    Row("POST", "/api/v1/admin/webhooks", (401, 403, 403, 201),
        json=lambda w, c: {"url": "https://hooks.example.com/new", "events": ["booking_approved"]}),
    Row("GET", "/api/v1/admin/webhooks", ADMINS),
    Row("GET", "/api/v1/admin/webhooks/{webhook}", ADMINS),
    Row("PATCH", "/api/v1/admin/webhooks/{webhook}", ADMINS, json=lambda w, c: {"active": False}),
    Row("DELETE", "/api/v1/admin/webhooks/{webhook}", (401, 403, 403, 204)),
    Row("GET", "/api/v1/admin/webhooks/{webhook}/deliveries", ADMINS),
    Row("POST", "/api/v1/admin/webhook-deliveries/{delivery}/redeliver", (401, 403, 403, 202)),
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
        movie_review=world.movie_review_id,
        notification=world.notification_id,
        webhook=world.webhook_id,
        delivery=world.delivery_id,
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


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}|no-such-job", "{}", path)


def _served(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation of the OpenAPI, and the HTML pages (not in the schema)."""
    operations = {
        (method.upper(), _shape(path))
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    }
    return operations | HTML_PAGES


def test_every_served_route_is_in_the_matrix(app: FastAPI) -> None:
    """A new route cannot slip past the matrix: each operation of the OpenAPI has a row.
    (The HTML pages under /admin are not in the schema; /admin/login's form is a row.)"""
    covered = {(row.method, _shape(row.path)) for row in ROWS}
    served = _served(app) - PAGES_WITHOUT_ROW
    assert len(served) > 50
    assert served - covered == set()


# --- the documented routes: docs/api.md's "Routes" (the contract's route tables) ---------------

API_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"

# Served by app/admin's HTML router, outside the OpenAPI schema.
HTML_PAGES = {("GET", "/admin"), ("GET", "/admin/login"), ("POST", "/admin/login")}
# The monitor page and the sign-in form: test_admin_pages_by_caller, by caller, with the cookie.
PAGES_WITHOUT_ROW = {("GET", "/admin"), ("POST", "/admin/login")}


# Documented but not served yet, with the issue that adds each. Serving one fails
# test_every_documented_route_is_served_or_not_yet: take it out of here and give it a matrix row.
NOT_YET_SERVED: dict[tuple[str, str], str] = {}

_ROUTE_LINE = re.compile(
    r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|$"
)


@dataclass(frozen=True)
class DocumentedRoute:
    method: str
    path: str
    who: str  # as the contract says: "anyone", "user", "admin", "moderator, admin", "host", ...

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, _shape(self.path))

    @property
    def public(self) -> bool:
        return self.who.startswith("anyone")

    @property
    def staff_only(self) -> bool:
        """A role the member lacks, whatever the member owns."""
        return self.who in ("admin", "moderator, admin")


def documented_routes() -> list[DocumentedRoute]:
    """The table of docs/api.md's "## Routes" section."""
    text = API_GUIDE.read_text(encoding="utf-8")
    section = text.split("\n## Routes\n", 1)[1].split("\n## ", 1)[0]
    routes = []
    for line in section.splitlines():
        if match := _ROUTE_LINE.match(line.strip()):
            routes.append(DocumentedRoute(*match.groups()))
    return routes


def test_the_guide_lists_every_route_of_the_contract_once() -> None:
    routes = documented_routes()
    assert len(routes) >= 80  # the contract's tables, "Films and friends" and webhooks included
    keys = [route.key for route in routes]
    assert len(keys) == len(set(keys)), "a route listed twice"
    assert all(route.path.startswith(("/api/v1/", "/health", "/ready", "/metrics", "/s/",
                                      "/admin")) for route in routes)  # fmt: skip


def test_every_documented_route_is_served_or_not_yet(app: FastAPI) -> None:
    documented = {route.key for route in documented_routes()}
    served = _served(app)
    assert set(NOT_YET_SERVED) <= documented, "not-yet routes the guide does not list"
    assert documented - served == set(NOT_YET_SERVED), "documented, neither served nor not-yet"
    assert served - documented == set(), "served but not documented in docs/api.md's Routes"


@pytest.mark.parametrize(
    "route",
    [r for r in documented_routes() if r.key not in NOT_YET_SERVED.keys() | PAGES_WITHOUT_ROW],
    ids=lambda r: f"{r.method} {r.path}",
)
def test_a_served_route_has_the_documented_auth_rule(route: DocumentedRoute) -> None:
    """The documented rule is the matrix row's, and test_authorization_matrix checks each row
    against the server: 401 without a token unless the route is for anyone, 403 for a member on
    an admin or moderator route, never 403 for a member on a route for any user. (The cookie
    page /admin and the sign-in form's POST: test_admin_pages_by_caller.)"""
    rows = [row for row in ROWS if (row.method, _shape(row.path)) == route.key]
    assert len(rows) == 1, "no matrix row: a route neither served nor listed in NOT_YET_SERVED"
    [row] = rows
    anonymous, member = row.expected[0], row.expected[1]
    if route.public:
        assert anonymous != 401, f"{route.who}: documented for anyone"
    else:
        assert anonymous == 401, f"{route.who}: documented for signed-in callers"
    if route.staff_only:
        assert member == 403, f"{route.who}: a member is refused"
    if route.who == "user":
        assert member != 403, f"{route.who}: any signed-in member may call it"


# Signing in on the form, then the monitor page and its retry button, with whatever session
# cookie that sign-in gave (none but the admin's). A bearer token never opens the pages.
ADMIN_PAGES = {
    "anonymous": (422, 303, 303),
    "member": (403, 303, 303),
    "moderator": (403, 303, 303),
    "admin": (303, 200, 404),
}


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


@pytest.mark.parametrize("caller", CALLERS)
async def test_admin_pages_by_caller(client: httpx.AsyncClient, world: World, caller: str) -> None:
    user = world.callers[caller]
    bearer_only = await client.get("/admin", headers=user.headers if user else {})
    assert bearer_only.status_code == 303
    assert bearer_only.headers["location"] == "/admin/login"

    login_page = await client.get("/admin/login")
    form = {"email": user.email, "password": user.password} if user else {}
    signed_in = await client.post(
        "/admin/login", data={**form, "csrf_token": _csrf_token(login_page.text)}
    )
    monitor = await client.get("/admin")
    token = _csrf_token(monitor.text) if monitor.status_code == 200 else ""
    retry = await client.post("/admin/jobs/no-such-job/retry", data={"csrf_token": token})
    statuses = (signed_in.status_code, monitor.status_code, retry.status_code)
    assert statuses == ADMIN_PAGES[caller]
    if caller != "admin":
        assert monitor.headers["location"] == "/admin/login"
