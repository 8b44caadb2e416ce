"""Hostile input never makes a 5xx (issue 13).

Two parts:
- examples of the defects that once were 500s, each now a 422 that names the field and says why:
  datetimes at the edge of the calendar (year 1, year 9999, with offsets) and control characters
  (NUL, CR, LF, TAB, U+2028) in free text, in bodies and in query parameters;
- hypothesis, driving every write route and the list filters with real users and real meetups:
  each example takes a valid body and replaces a few of its fields (or adds one) with hostile
  values: control characters, lone surrogates, extreme datetimes, 20-digit and huge numbers,
  long strings, arbitrary unicode, wrong JSON types. Whatever comes back is never a 5xx, and every
  4xx has the error shape `{detail, code}` with a string `code`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import clock
from app.models.bookings import BookingStatus
from app.models.movies import Movie
from tests.support.announcements import announcement_body
from tests.support.factories import TestUser, UserFactory
from tests.support.meetups import Meetups

# --- the checks ------------------------------------------------------------------------------


def assert_no_5xx_and_error_shape(response: httpx.Response) -> None:
    request = response.request
    where = f"{request.method} {request.url} {request.content[:300]!r}"
    assert response.status_code < 500, f"{where} -> {response.status_code} {response.text[:500]}"
    if 400 <= response.status_code < 500 and request.url.path.startswith("/api/"):
        body = response.json()
        assert isinstance(body, dict), f"{where} -> {body!r}"
        assert isinstance(body.get("code"), str) and body["code"], f"{where} -> {body!r}"
        assert "detail" in body, f"{where} -> {body!r}"


def refusal_problem(response: httpx.Response, field: str, because: str) -> str | None:
    """None for a 422 in FastAPI's shape whose error for `field` says `because`; else what is
    wrong with the response."""
    where = f"{response.request.method} {response.request.url} {response.request.content[:200]!r}"
    if response.status_code != 422:
        return f"{where} -> {response.status_code} {response.text[:300]}"
    body = response.json()
    details = body["detail"] if isinstance(body["detail"], list) else []
    errors = [e for e in details if field in [str(part) for part in e["loc"]]]
    if body["code"] != "validation_error" or not any(because in e["msg"] for e in errors):
        return f"{where} -> no error of {field} says {because!r}: {body}"
    return None


def assert_field_refused(response: httpx.Response, field: str, because: str) -> None:
    problem = refusal_problem(response, field, because)
    assert problem is None, problem


def assert_no_problem(problems: list[str | None]) -> None:
    found = [p for p in problems if p]
    assert not found, f"{len(found)} of {len(problems)} cases failed:\n" + "\n".join(found)


async def send_json(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Sends `body` as Python's json module writes it: lone surrogates as \\ud800 escapes,
    NaN and Infinity as such, numbers of any size."""
    return await client.request(
        method,
        path,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# --- a small world: users with sessions, meetups in every state the write routes need --------


@dataclass
class World:
    host: TestUser
    guest: TestUser
    moderator: TestUser
    admin: TestUser
    open_id: uuid.UUID  # an upcoming meetup of the host's, manual approval
    to_cancel_id: uuid.UUID  # another, for the cancel route
    finished_id: uuid.UUID  # ended an hour ago; the guest was approved: reviews are open
    pending_booking_id: uuid.UUID  # the guest's pending booking on the open meetup
    movie_id: uuid.UUID


@pytest.fixture
async def world(app: FastAPI, users: UserFactory, meetups: Meetups) -> World:
    host = await users.create(name="Host")
    guest = await users.create(name="Guest")
    moderator = await users.moderator()
    admin = await users.admin()
    now = clock.now()
    open_meetup = await meetups.create(host, event_time=now + timedelta(days=3))
    to_cancel = await meetups.create(host, event_time=now + timedelta(days=4))
    finished = await meetups.create(host, event_time=now - timedelta(hours=3), duration_minutes=60)
    await meetups.book(finished, guest)
    pending = await meetups.book(open_meetup, guest, BookingStatus.pending)
    movie = Movie(title="Stalker", year=1979, genres=["drama"], runtime_minutes=162)
    async with app.state.db.sessionmaker() as session, session.begin():
        session.add(movie)
    return World(
        host=host,
        guest=guest,
        moderator=moderator,
        admin=admin,
        open_id=open_meetup.id,
        to_cancel_id=to_cancel.id,
        finished_id=finished.id,
        pending_booking_id=pending.id,
        movie_id=movie.id,
    )


# --- 1. the confirmed defects, one example each ------------------------------------------------

EDGE_DATETIMES = [
    "9999-12-31T23:00:00-05:00",  # converting it to UTC overflows
    "9999-12-31T23:59:59+00:00",  # event_time + duration overflows
    "0001-01-01T00:00:00+05:00",  # converting it to UTC underflows
    "0001-01-01T00:00:00-05:00",
]


async def test_a_date_filter_at_the_edge_of_the_calendar_is_a_422(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    cases = [
        ("/api/v1/announcements", "date_to", "9999-12-31"),  # end-of-day arithmetic overflowed
        ("/api/v1/announcements", "date_to", "9999-12-31T23:59:59-01:00"),
        ("/api/v1/announcements", "date_from", "0001-01-01T00:00:00+05:00"),
        ("/api/v1/announcements", "date_from", "9999-12-31"),
        ("/api/v1/admin/analytics", "date_to", "9999-12-31"),  # so did the report's
        ("/api/v1/admin/analytics", "date_from", "0001-01-01"),
    ]
    problems = []
    for path, param, value in cases:
        response = await client.get(path, params={param: value}, headers=admin.headers)
        problems.append(refusal_problem(response, param, "between"))
    assert_no_problem(problems)
    inside = {"date_from": "1900-01-01", "date_to": "2199-12-31"}
    for path in ("/api/v1/announcements", "/api/v1/admin/analytics"):
        response = await client.get(path, params=inside, headers=admin.headers)
        assert response.status_code in (200, 422), response.text  # the report: at most 366 days
        assert response.status_code == 200 or response.json()["code"] == "invalid_date_range"


async def test_an_event_time_at_the_edge_of_the_calendar_is_a_422(
    client: httpx.AsyncClient, world: World
) -> None:
    problems = []
    for event_time in EDGE_DATETIMES:
        created = await client.post(
            "/api/v1/announcements",
            headers=world.host.headers,
            json=announcement_body(event_time=event_time),
        )
        patched = await client.patch(
            f"/api/v1/announcements/{world.open_id}",
            headers=world.host.headers,
            json={"event_time": event_time},
        )
        problems += [refusal_problem(r, "event_time", "between") for r in (created, patched)]
    assert_no_problem(problems)


# (route, who, field, the refused value, the body around it). NUL reached PostgreSQL (a 500)
# where nothing checked it; the other controls were stored where NUL already was refused.
SINGLE_LINE_CASES = [
    ("register", "name", "\x00"),
    ("register", "name", "Ann\u2028Bob"),
    ("users_me", "name", "Ann\x00"),
    ("users_me", "name", "Ann\rBob"),
    ("announcement", "title", "Night\nout"),
    ("announcement", "location", "Street\x00 12"),
    ("announcement", "location", "Street\t12"),
    ("announcement", "movie_title", "Stal\u2029ker"),  # at an end, it would be stripped
    ("announcement", "timezone", "UTC\x00"),
    ("announcement", "tags", ["a\nb"]),
    ("announcement_patch", "title", "Night\x00"),
    ("announcement_patch", "title", "Night\x85out"),
    ("movie", "title", "Stal\u2028ker"),
    ("movie", "genres", ["dra\tma"]),
]
MULTI_LINE_CASES = [
    ("users_me", "bio", "I like films\x00"),
    ("users_me", "bio", "bell\x07"),
    ("announcement", "description", "tea\x1bafterwards"),
    ("announcement_patch", "description", "tea\x00"),
    ("cancel", "reason", "sorry\x00"),
    ("booking", "message", "hello\x00"),
    ("booking", "message", "hello\x0b"),
    ("reject", "reason", "no\x00"),
    ("review", "comment", "great host\x00"),
    ("review", "comment", "great\rhost"),  # a CR that does not start a CR LF
    ("movie", "description", "slow\x00"),
    ("movie_patch", "description", "slow\x9b"),
]


def _route(world: World, name: str) -> tuple[str, str, TestUser | None, dict[str, Any]]:
    """(method, path, caller, a valid body) of each write route of the cases above."""
    routes: dict[str, tuple[str, str, TestUser | None, dict[str, Any]]] = {
        "register": (
            "POST",
            "/api/v1/auth/register",
            None,
            {"email": "new@example.com", "password": "long enough password", "name": "Ann"},
        ),
        "users_me": ("PATCH", "/api/v1/users/me", world.guest, {}),
        "announcement": ("POST", "/api/v1/announcements", world.host, announcement_body()),
        "announcement_patch": ("PATCH", f"/api/v1/announcements/{world.open_id}", world.host, {}),
        "cancel": ("POST", f"/api/v1/announcements/{world.to_cancel_id}/cancel", world.host, {}),
        "booking": (
            "POST",
            f"/api/v1/announcements/{world.open_id}/bookings",
            world.moderator,  # neither host nor booked: any 4xx would come after validation
            {"seats": 1},
        ),
        "reject": (
            "POST",
            f"/api/v1/bookings/{world.pending_booking_id}/reject",
            world.host,
            {},
        ),
        "review": (
            "POST",
            f"/api/v1/announcements/{world.finished_id}/reviews",
            world.guest,
            {"target_user_id": str(world.host.id), "score": 5},
        ),
        "movie": ("POST", "/api/v1/movies", world.moderator, {"title": "Solaris", "year": 1972}),
        "movie_patch": ("PATCH", f"/api/v1/movies/{world.movie_id}", world.moderator, {}),
    }
    return routes[name]


async def test_a_control_character_in_free_text_is_a_422_naming_the_field(
    client: httpx.AsyncClient, world: World
) -> None:
    problems = []
    for route, field, value in SINGLE_LINE_CASES + MULTI_LINE_CASES:
        method, path, caller, body = _route(world, route)
        headers = caller.headers if caller else {}
        response = await send_json(client, method, path, {**body, field: value}, headers)
        problems.append(refusal_problem(response, field, "control characters"))
    assert_no_problem(problems)


async def test_line_breaks_and_tabs_stay_allowed_in_multi_line_text(
    client: httpx.AsyncClient, world: World
) -> None:
    bio = "Line one\nline two\r\n\tindented \u2028 and a paragraph\u2029end"
    response = await client.patch(
        "/api/v1/users/me", headers=world.guest.headers, json={"bio": bio}
    )
    assert response.status_code == 200, response.text
    assert response.json()["bio"] == bio


async def test_a_lone_surrogate_is_a_422_not_a_500(client: httpx.AsyncClient, world: World) -> None:
    # json.dumps writes it as the escape \ud800, which Python's JSON parser turns back into a
    # string that UTF-8 cannot encode: pydantic refuses it, but the 422 echoing it as `input`
    # could not be rendered (a 500).
    response = await send_json(
        client, "PATCH", "/api/v1/users/me", {"name": "Ann\ud800"}, world.guest.headers
    )
    assert_field_refused(response, "name", "unicode")
    assert response.json()["detail"][0]["input"] == "Ann\\ud800"
    response = await send_json(
        client, "POST", "/api/v1/auth/login", {"email": world.guest.email, "password": "x\udc00"}
    )
    assert_field_refused(response, "password", "unicode")


async def test_a_control_character_in_a_text_filter_is_a_422(client: httpx.AsyncClient) -> None:
    problems = []
    for path, param in [
        ("/api/v1/announcements", "q"),
        ("/api/v1/announcements", "location"),
        ("/api/v1/announcements", "tag"),
        ("/api/v1/movies", "q"),
        ("/api/v1/movies", "genre"),
    ]:
        for value in ["%00", "a%0Ab", "a%E2%80%A8b", "%C2%85"]:
            response = await client.get(f"{path}?{param}={value}")
            problems.append(refusal_problem(response, param, "control characters"))
    assert_no_problem(problems)


async def test_a_huge_number_in_json_is_a_422(client: httpx.AsyncClient, world: World) -> None:
    review = {"target_user_id": str(world.host.id), "score": 5}
    paid = announcement_body(is_free=False, price="5.00")
    routes = [
        ("POST", f"/api/v1/announcements/{world.open_id}/bookings", world.moderator, {}, "seats"),
        (
            "POST",
            f"/api/v1/announcements/{world.finished_id}/reviews",
            world.guest,
            review,
            "score",
        ),
        ("POST", "/api/v1/announcements", world.host, paid, "tickets_count"),
        ("POST", "/api/v1/announcements", world.host, paid, "duration_minutes"),
        ("POST", "/api/v1/announcements", world.host, paid, "price"),
        ("PATCH", f"/api/v1/announcements/{world.open_id}", world.host, {}, "tickets_count"),
        ("PATCH", f"/api/v1/movies/{world.movie_id}", world.moderator, {}, "year"),
    ]
    # 20 digits, beyond int64, Infinity and NaN (json.dumps writes them; Python's parser reads
    # them back: the 422 echoing them could not be rendered, a 500)
    numbers = [10**20, -(10**20), 2**63, 1e308 * 10, float("nan")]
    problems = []
    for method, path, caller, body, field in routes:
        for number in numbers:
            response = await send_json(
                client, method, path, {**body, field: number}, caller.headers
            )
            problems.append(refusal_problem(response, field, ""))
    assert_no_problem(problems)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"seats": 1' + b"0" * 5000 + b"}",  # more digits than Python converts to an int
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than Python's recursion limit
        b'{"seats": 1e999999}',
        b'{"message": "\\ud800"}',
        b'{"message": "\x00"}',
        b"\xff\xfe\x00",
    ],
)
async def test_a_pathological_json_body_is_a_4xx(
    client: httpx.AsyncClient, world: World, raw: bytes
) -> None:
    response = await client.post(
        f"/api/v1/announcements/{world.open_id}/bookings",
        content=raw,
        headers={"Content-Type": "application/json", **world.moderator.headers},
    )
    assert 400 <= response.status_code < 500, response.text
    assert_no_5xx_and_error_shape(response)


@pytest.mark.parametrize("param", ["limit", "offset"])
async def test_a_20_digit_number_in_a_query_is_a_422(client: httpx.AsyncClient, param: str) -> None:
    response = await client.get("/api/v1/announcements", params={param: "1" + "0" * 19})
    assert_field_refused(response, param, "")


# --- 2. hypothesis: every write route and the list filters ----------------------------------

CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + ["\u2028", "\u2029"]
SURROGATES = ["\ud800", "\udfff", "\udc00\ud800"]

any_unicode = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
with_controls = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.text(max_size=10),
    st.sampled_from(["\x00", "\r", "\n", "\u2028"]) | st.sampled_from(CONTROLS + SURROGATES),
    st.text(max_size=10),
)
long_strings = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["a", "é", "😀", " ", "\x00", "\n"]),
    st.sampled_from([0, 1, 40, 41, 100, 101, 200, 201, 300, 301, 2000, 2001, 5000, 5001, 70_000]),
)
hostile_text = st.one_of(any_unicode, with_controls, long_strings)


def mostly(
    usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any], tenths: int = 8
) -> st.SearchStrategy[Any]:
    """`usual` about tenths/10 of the time (st.one_of would flatten nested branches evenly)."""
    return st.integers(1, 10).flatmap(lambda n: usual if n <= tenths else other)


OFFSETS = ["Z", "+00:00", "+00:01", "+23:59", "-23:59", "+05:00", "-05:00", "-00:01", ""]
# The instants next to the ends of the calendar and of the allowed range, with any offset: a
# negative offset on the last day overflows converting to UTC, a positive one on the first day
# underflows, and 9999-12-31 plus a meetup's duration overflows too.
edge_datetime = st.builds(
    lambda base, tail: base + tail,
    st.sampled_from(
        [
            "9999-12-31T23:59:59.999999",
            "9999-12-31T22:00:00",
            "0001-01-01T00:00:00",
            "0001-01-01T05:00:00",
            "1899-12-31T23:59:59",
            "2199-12-31T23:59:59",
            "2200-01-01T00:00:01",
        ]
    ),
    st.sampled_from(OFFSETS),
)
any_datetime = st.builds(
    lambda moment, tail: moment.isoformat() + tail, st.datetimes(), st.sampled_from(OFFSETS)
)
odd_datetime = st.sampled_from(
    ["9999-12-31", "0001-01-01", "0000-01-01", "2024-02-30", "10000-01-01", "-0001-01-01", "now"]
)
hostile_datetime = mostly(edge_datetime, st.one_of(any_datetime, odd_datetime), tenths=6)
hostile_number = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25),
    st.sampled_from([10**20, -(10**20), 2**31, 2**63, -(2**63) - 1, 0, -1, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
)
hostile_scalar = st.one_of(hostile_text, hostile_datetime, hostile_number, st.none(), st.booleans())
hostile_value = st.one_of(
    hostile_scalar,
    st.lists(hostile_scalar, max_size=25),
    st.dictionaries(st.text(max_size=5), hostile_scalar, max_size=3),
)


DATETIME_FIELDS = {"event_time"}
NUMBER_FIELDS = {"seats", "score", "tickets_count", "duration_minutes", "year", "runtime_minutes"}
LIST_FIELDS = {"tags", "genres"}


def hostile_for(name: str, example: Any) -> st.SearchStrategy[Any]:
    """Hostile values for one field, most of them of the kind the field takes (so that they get
    past the type check to where the old bugs were), the rest anything."""
    if name in DATETIME_FIELDS:
        return mostly(hostile_datetime, hostile_value, tenths=9)
    if name in NUMBER_FIELDS or name == "price":
        return mostly(st.one_of(hostile_number, hostile_number.map(str)), hostile_value)
    if name in LIST_FIELDS:
        return mostly(st.lists(hostile_text, min_size=1, max_size=25), hostile_value)
    if isinstance(example, str) or example is None:
        return mostly(with_controls, st.one_of(long_strings, hostile_value))
    return hostile_value


def hostile_body(valid: dict[str, Any], extra: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """A valid body with one of its fields (or of the optional ones it lacks) made hostile; or
    up to three fields (an unknown one too) given anything, a field dropped; now and then not
    even an object."""
    names = sorted(set(valid) | set(extra))
    weighted = names + [n for n in names if n in DATETIME_FIELDS] * 9  # the datetimes broke most
    one_field = st.sampled_from(weighted).flatmap(
        lambda name: hostile_for(name, valid.get(name)).map(lambda value: {**valid, name: value})
    )
    several = st.builds(
        lambda replaced, dropped: {
            **{k: v for k, v in valid.items() if k not in dropped},
            **replaced,
        },
        st.dictionaries(
            st.sampled_from(names) | st.just("unexpected"), hostile_value, min_size=1, max_size=3
        ),
        st.sets(st.sampled_from(names), max_size=1),
    )
    return st.one_of(one_field, one_field, one_field, several, hostile_value)


HYPOTHESIS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Write routes: (name, method, path, caller, valid body, optional fields the body lacks).
WRITE_ROUTES = [
    "register",
    "confirm",
    "resend",
    "login",
    "refresh",
    "logout",
    "password_change",
    "password_forgot",
    "password_reset",
    "users_me",
    "admin_user",
    "movie",
    "movie_patch",
    "announcement",
    "announcement_patch",
    "cancel",
    "booking",
    "reject",
    "review",
]


def write_route(
    world: World, name: str
) -> tuple[str, str, TestUser | None, dict[str, Any], tuple[str, ...]]:
    email = world.guest.email
    known = {
        "register": (
            "POST",
            "/api/v1/auth/register",
            None,
            {"email": "new@example.com", "password": "long enough password", "name": "Ann"},
            (),
        ),
        "confirm": ("POST", "/api/v1/auth/confirm", None, {"email": email, "code": "123456"}, ()),
        "resend": ("POST", "/api/v1/auth/confirm/resend", None, {"email": email}, ()),
        "login": (
            "POST",
            "/api/v1/auth/login",
            None,
            {"email": email, "password": world.guest.password},
            (),
        ),
        "refresh": (
            "POST",
            "/api/v1/auth/refresh",
            None,
            {
                "refresh_token": world.moderator.tokens.refresh_token
                if world.moderator.tokens
                else ""
            },
            (),
        ),
        "logout": ("POST", "/api/v1/auth/logout", world.admin, {}, ("refresh_token",)),
        "password_change": (
            "POST",
            "/api/v1/auth/password/change",
            world.admin,
            {"current_password": "wrong password", "new_password": "another long one"},
            (),
        ),
        "password_forgot": ("POST", "/api/v1/auth/password/forgot", None, {"email": email}, ()),
        "password_reset": (
            "POST",
            "/api/v1/auth/password/reset",
            None,
            {"token": "not-a-token", "new_password": "another long one"},
            (),
        ),
        "users_me": (
            "PATCH",
            "/api/v1/users/me",
            world.guest,
            {"name": "Guest", "bio": "Films.\nMore films."},
            ("email_notifications",),
        ),
        "admin_user": (
            "PATCH",
            f"/api/v1/admin/users/{world.guest.id}",
            world.admin,
            {"role": "member", "is_active": True},
            (),
        ),
        "movie": (
            "POST",
            "/api/v1/movies",
            world.moderator,
            {
                "title": "Solaris",
                "year": 1972,
                "genres": ["drama"],
                "runtime_minutes": 167,
                "description": "A planet.",
            },
            (),
        ),
        "movie_patch": (
            "PATCH",
            f"/api/v1/movies/{world.movie_id}",
            world.moderator,
            {"title": "Stalker", "year": 1979, "description": "The Zone."},
            ("genres", "runtime_minutes"),
        ),
        "announcement": (
            "POST",
            "/api/v1/announcements",
            world.host,
            {
                **announcement_body(),
                "timezone": "Europe/Moscow",
                "tags": ["tarkovsky"],
                "duration_minutes": 90,
            },
            ("movie_id", "price", "is_free", "sub_only", "approval"),
        ),
        "announcement_patch": (
            "PATCH",
            f"/api/v1/announcements/{world.open_id}",
            world.host,
            {
                "title": "Stalker again",
                "event_time": (clock.now() + timedelta(days=5)).isoformat(),
                "tickets_count": 5,
            },
            ("description", "location", "timezone", "tags", "movie_title", "price", "is_free"),
        ),
        "cancel": (
            "POST",
            f"/api/v1/announcements/{world.to_cancel_id}/cancel",
            world.host,
            {"reason": "Sorry"},
            (),
        ),
        "booking": (
            "POST",
            f"/api/v1/announcements/{world.open_id}/bookings",
            world.moderator,
            {"seats": 1, "message": "Hello!", "join_waitlist": False},
            (),
        ),
        "reject": (
            "POST",
            f"/api/v1/bookings/{world.pending_booking_id}/reject",
            world.host,
            {"reason": "No room"},
            (),
        ),
        "review": (
            "POST",
            f"/api/v1/announcements/{world.finished_id}/reviews",
            world.guest,
            {"target_user_id": str(world.host.id), "score": 4, "comment": "Good tea."},
            (),
        ),
    }
    return known[name]


@pytest.mark.parametrize("route", WRITE_ROUTES)
@HYPOTHESIS
@given(data=st.data())
async def test_no_write_route_answers_a_5xx_to_hostile_input(
    app: FastAPI, client: httpx.AsyncClient, world: World, route: str, data: st.DataObject
) -> None:
    method, path, caller, valid, extra = write_route(world, route)
    body = data.draw(hostile_body(valid, extra), label="body")
    await app.state.redis.flushdb()  # no rate limit hides what comes after it
    response = await send_json(client, method, path, body, caller.headers if caller else None)
    assert_no_5xx_and_error_shape(response)


@HYPOTHESIS
@given(
    form=st.dictionaries(
        st.sampled_from(["username", "password", "grant_type", "scope"]),
        hostile_text.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)),
        max_size=4,
    )
)
async def test_the_oauth2_token_form_answers_no_5xx(
    app: FastAPI, client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    await app.state.redis.flushdb()
    response = await client.post("/api/v1/auth/token", data=form)
    assert_no_5xx_and_error_shape(response)


# Query strings: text (as UTF-8, percent-encoded), raw bytes (invalid UTF-8 included), numbers
# and datetimes, each percent-encoded so that "+" stays a plus.
query_value = st.one_of(
    # (at most 1000 characters: httpx refuses a URL above 64 KiB)
    hostile_text.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)).map(
        lambda s: quote(s[:1000], safe="")
    ),
    st.binary(max_size=20).map(lambda b: quote_from_bytes(b, safe="")),
    hostile_number.map(lambda n: quote(str(n), safe="")),
    hostile_datetime.map(lambda s: quote(s, safe="")),
)

LIST_ROUTES = {
    "announcements": (
        "/api/v1/announcements",
        None,
        [
            "q",
            "movie_id",
            "author_id",
            "location",
            "date_from",
            "date_to",
            "has_seats",
            "is_free",
            "sub_only",
            "tag",
            "status",
            "sort",
            "limit",
            "offset",
        ],
    ),
    "movies": ("/api/v1/movies", None, ["q", "genre", "sort", "limit", "offset"]),
    "bookings": ("/api/v1/bookings", "guest", ["role", "status", "announcement_id", "limit"]),
    "notifications": ("/api/v1/notifications", "guest", ["unread", "limit", "offset"]),
    "user_reviews": ("/api/v1/users/{host}/reviews", None, ["as", "limit", "offset"]),
    "analytics": ("/api/v1/admin/analytics", "admin", ["date_from", "date_to"]),
    "admin_jobs": ("/api/v1/admin/jobs", "admin", ["state", "limit", "offset"]),
}


@pytest.mark.parametrize("route", sorted(LIST_ROUTES))
@HYPOTHESIS
@given(data=st.data())
async def test_no_list_filter_answers_a_5xx_to_hostile_input(
    client: httpx.AsyncClient, world: World, route: str, data: st.DataObject
) -> None:
    path, who, params = LIST_ROUTES[route]
    pairs = data.draw(
        st.lists(st.tuples(st.sampled_from(params), query_value), min_size=1, max_size=4),
        label="query",
    )
    query = "&".join(f"{name}={value}" for name, value in pairs)
    caller = {"guest": world.guest, "admin": world.admin}.get(who or "")
    response = await client.get(
        f"{path.format(host=world.host.id)}?{query}", headers=caller.headers if caller else {}
    )
    assert_no_5xx_and_error_shape(response)
