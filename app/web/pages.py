"""Public pages and meetups: home (find meetups), a meetup's page with its booking forms, the
host's pages (create, edit, cancel, decide on requests) and people's profiles (films:
app/web/films.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from datetime import date as Date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import col

from app.announcements import queries as announcement_queries
from app.announcements import service as announcement_service
from app.announcements.dependencies import AnnouncementFilters
from app.announcements.schemas import AnnouncementCreate, AnnouncementUpdate
from app.bookings import queries as booking_queries
from app.bookings import service as booking_service
from app.bookings.schemas import BookingCreate
from app.core import clock, pagination
from app.core.db import Transaction, Tx
from app.core.errors import AppError, NotFound
from app.core.pagination import PageParams
from app.models.announcements import Announcement, AnnouncementStatus, Approval
from app.models.bookings import ACTIVE_STATUSES, Booking, BookingStatus
from app.models.users import Role
from app.reviews import service as reviews_service
from app.users import service as users_service
from app.users.schemas import UserPublic
from app.web import community as web_community
from app.web import ratings as web_ratings
from app.web.forms import Fields, guarded, member_post
from app.web.render import (
    form_again,
    invalid,
    not_found,
    page,
    problem,
    redirect,
    safe_next,
    sign_in_first,
)
from app.web.session import Visit, Visitor

router = APIRouter(include_in_schema=False)

PER_PAGE = 12


def _number(value: str, default: int = 1, *, low: int = 1, high: int = 10_000) -> int:
    try:
        return min(max(int(value), low), high)
    except ValueError:
        return default


# --- home: find meetups ----------------------------------------------------------------------------


@router.get("/")
async def home(
    visit: Visit,
    tx: Transaction,
    q: str = "",
    date: str = "",
    free: str = "",
    seats: str = "",
    page_number: str = "1",
) -> Response:
    q = " ".join(q.split())[:200]
    day: Date | None = None
    try:
        day = Date.fromisoformat(date) if date else None
    except ValueError:
        day = None
    filters = AnnouncementFilters(
        q=q or None,
        date_from=datetime.combine(day, time.min, tzinfo=UTC) if day else None,
        date_to=datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        - timedelta(microseconds=1)
        if day
        else None,
        is_free=True if free else None,
        has_seats=True if seats else None,
    )
    number = pagination.page_number(page_number)
    params = PageParams(limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    items, total = await announcement_queries.list_announcements(tx.session, filters, params)
    query = {"q": q, "date": day.isoformat() if day else "", "free": free, "seats": seats}
    kept = {k: v for k, v in query.items() if v}
    return page(
        visit,
        "_results.html" if visit.request.headers.get("hx-target") == "results" else "home.html",
        items=items,
        total=int(total),
        total_is_estimate=total.is_estimate,
        filters=query,
        page_number=number,
        has_next=params.offset + len(items) < total,
        link=lambda n: "/?" + urlencode({**kept, "page_number": n}),
    )


# --- a meetup --------------------------------------------------------------------------------------


async def _my_booking(tx: Tx, announcement_id: uuid.UUID, visit: Visitor) -> Booking | None:
    if visit.user is None:
        return None
    booking: Booking | None = await tx.session.scalar(
        select(Booking).where(
            col(Booking.announcement_id) == announcement_id,
            col(Booking.guest_id) == visit.user.id,
            col(Booking.status).in_(ACTIVE_STATUSES),
        )
    )
    return booking


def _is_host(visit: Visitor, author_id: uuid.UUID) -> bool:
    user = visit.user
    return user is not None and (user.id == author_id or user.role == Role.admin)


@router.get("/m/new")
async def new_meetup_form(visit: Visit) -> Response:
    if visit.user is None:
        return sign_in_first(visit)
    return page(
        visit,
        "meetup_form.html",
        form={"timezone": "UTC", "tickets_count": "4", "duration_minutes": ""},
        editing=None,
    )


@router.get("/m/{announcement_id}")
async def meetup(
    visit: Visit, tx: Transaction, announcement_id: uuid.UUID, done: str = ""
) -> Response:
    try:
        view = await announcement_queries.announcement_view(tx.session, announcement_id, visit.user)
    except NotFound:
        return not_found(visit)
    now = clock.now()
    row = await tx.session.get(Announcement, announcement_id)
    assert row is not None
    reviews: list[Any] = []
    if view.status == AnnouncementStatus.finished:
        reviews, _ = await reviews_service.list_for_announcement(
            tx.session, announcement_id, visit.user, PageParams(limit=50)
        )
    requests: list[Any] = []
    if _is_host(visit, view.author.id):
        requests, _ = await booking_queries.list_bookings(
            tx.session,
            page=PageParams(limit=100),
            announcement_id=announcement_id,
            status=BookingStatus.pending,
        )
    mine = await _my_booking(tx, announcement_id, visit)
    return page(
        visit,
        "meetup.html",
        m=view,
        mine=mine,
        rateable=await web_ratings.rateable(tx, row, view, visit, mine),
        scores=web_ratings.SCORES,
        is_host=_is_host(visit, view.author.id),
        closed=row.is_closed_at(now),
        reviews=reviews,
        requests=requests,
        done=done[:40],
        **await web_community.meetup_marks(tx, announcement_id, visit),
    )


@router.post("/m/{announcement_id}/book")
async def book(
    request: Request, visit: Visit, tx: Transaction, announcement_id: uuid.UUID
) -> Response:
    post = await member_post(request, visit, f"/m/{announcement_id}")
    if isinstance(post, Response):
        return post
    fields = post.fields
    try:
        data = BookingCreate(
            seats=_number(fields["seats"] or "1", high=10),
            message=fields.raw("message").replace("\r\n", "\n") or None,
            join_waitlist=fields.checked("join_waitlist"),
        )
        async with guarded(tx):
            booking = await booking_service.request_seats(
                tx, guest=post.user, announcement_id=announcement_id, data=data
            )
    except ValidationError as exc:
        return invalid(visit, exc)
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, f"/m/{announcement_id}?done={booking.status.value}")


async def _decide(
    request: Request, visit: Visitor, tx: Tx, booking_id: uuid.UUID, action: str
) -> Response:
    post = await member_post(request, visit, "/me")
    if isinstance(post, Response):
        return post
    user, fields = post.user, post.fields
    try:
        async with guarded(tx):
            if action == "approve":
                view = await booking_service.approve_booking(tx, booking_id=booking_id, user=user)
            elif action == "reject":
                view = await booking_service.reject_booking(
                    tx, booking_id=booking_id, user=user, reason=fields["reason"][:1000] or None
                )
            else:
                view = await booking_service.cancel_booking(tx, booking_id=booking_id, user=user)
    except AppError as exc:
        return problem(visit, exc)
    done = f"/m/{view.announcement.id}?done={view.status.value}"
    return redirect(visit, safe_next(fields["next"], done))


@router.post("/bookings/{booking_id}/approve")
async def approve(
    request: Request, visit: Visit, tx: Transaction, booking_id: uuid.UUID
) -> Response:
    return await _decide(request, visit, tx, booking_id, "approve")


@router.post("/bookings/{booking_id}/reject")
async def reject(
    request: Request, visit: Visit, tx: Transaction, booking_id: uuid.UUID
) -> Response:
    return await _decide(request, visit, tx, booking_id, "reject")


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(
    request: Request, visit: Visit, tx: Transaction, booking_id: uuid.UUID
) -> Response:
    return await _decide(request, visit, tx, booking_id, "cancel")


# --- the host's pages ------------------------------------------------------------------------------

MEETUP_FIELDS = (
    "title",
    "movie_title",
    "description",
    "event_time",
    "timezone",
    "duration_minutes",
    "location",
    "language",
    "tickets_count",
    "price",
    "approval",
    "tags",
    "sub_only",
)


def _meetup_values(fields: Fields) -> dict[str, Any]:
    """The request model's values from the form: the local time in the meetup's zone, the price
    (empty: free), the tags (comma-separated)."""
    zone = fields["timezone"] or "UTC"
    values: dict[str, Any] = {
        "title": fields["title"],
        "movie_title": fields["movie_title"],
        "description": fields.raw("description").replace("\r\n", "\n"),
        "location": fields["location"],
        "language": fields["language"],
        "timezone": zone,
        "tickets_count": fields["tickets_count"],
        "approval": Approval.auto if fields["approval"] == "auto" else Approval.manual,
        "tags": [t for t in fields["tags"].split(",") if t.strip()],
        "sub_only": fields.checked("sub_only"),
    }
    if fields["duration_minutes"]:
        values["duration_minutes"] = fields["duration_minutes"]
    try:
        local = datetime.fromisoformat(fields["event_time"])
        values["event_time"] = (
            local.replace(tzinfo=ZoneInfo(zone)) if local.tzinfo is None else local
        )
    except (ValueError, KeyError):
        values["event_time"] = fields["event_time"]
    price = fields["price"].replace(",", ".")
    try:
        amount = Decimal(price) if price else Decimal(0)
    except InvalidOperation:
        amount = Decimal(-1)
    values["is_free"] = amount == 0
    values["price"] = None if amount == 0 else (price if amount < 0 else amount)
    return values


@router.post("/m/new")
async def create_meetup(request: Request, visit: Visit, tx: Transaction) -> Response:
    post = await member_post(request, visit, "/m/new")
    if isinstance(post, Response):
        return post
    try:
        data = AnnouncementCreate.model_validate(_meetup_values(post.fields))
        async with guarded(tx):
            created = await announcement_service.create_announcement(
                tx, author=post.user, data=data
            )
    except (ValidationError, AppError) as exc:
        return form_again(visit, "meetup_form.html", exc, form=post.fields.as_dict(), editing=None)
    return redirect(visit, f"/m/{created.id}?done=created")


def _form_of(a: Announcement) -> dict[str, str]:
    local = a.event_time.astimezone(ZoneInfo(a.timezone)).replace(tzinfo=None)
    return {
        "title": a.title,
        "movie_title": a.movie_title,
        "description": a.description,
        "event_time": local.isoformat(timespec="minutes"),
        "timezone": a.timezone,
        "duration_minutes": str(a.duration_minutes),
        "location": a.location,
        "language": a.language,
        "tickets_count": str(a.tickets_count),
        "price": "" if a.price is None else str(a.price),
        "approval": a.approval.value,
        "tags": ", ".join(a.tags),
        "sub_only": "1" if a.sub_only else "",
    }


@router.get("/m/{announcement_id}/edit")
async def edit_form(visit: Visit, tx: Transaction, announcement_id: uuid.UUID) -> Response:
    if visit.user is None:
        return sign_in_first(visit)
    a = await tx.session.get(Announcement, announcement_id)
    if a is None:
        return not_found(visit)
    if not _is_host(visit, a.author_id):
        return page(visit, "refused.html", 403)
    return page(visit, "meetup_form.html", form=_form_of(a), editing=a)


@router.post("/m/{announcement_id}/edit")
async def edit(
    request: Request, visit: Visit, tx: Transaction, announcement_id: uuid.UUID
) -> Response:
    post = await member_post(request, visit, f"/m/{announcement_id}/edit")
    if isinstance(post, Response):
        return post
    fields = post.fields
    a = await tx.session.get(Announcement, announcement_id)
    if a is None:
        return not_found(visit)
    before = _form_of(a)
    values = _meetup_values(fields)
    # Only what changed is sent, as a PATCH would (a past start time left as it was is no error).
    changed = {
        name: values[name]
        for name in MEETUP_FIELDS
        if name in values
        and fields[name] != before.get(name, "")
        and not (name == "sub_only" and fields.checked(name) == bool(before["sub_only"]))
    }
    if "price" in changed:
        changed["is_free"] = values["is_free"]
    if "event_time" not in changed and fields["timezone"] != before["timezone"]:
        changed["event_time"] = values["event_time"]
    try:
        data = AnnouncementUpdate.model_validate(changed)
        async with guarded(tx):
            await announcement_service.update_announcement(
                tx, user=post.user, announcement_id=announcement_id, data=data
            )
    except (ValidationError, AppError) as exc:
        return form_again(visit, "meetup_form.html", exc, form=fields.as_dict(), editing=a)
    return redirect(visit, f"/m/{announcement_id}?done=saved")


@router.post("/m/{announcement_id}/cancel")
async def cancel_meetup(
    request: Request, visit: Visit, tx: Transaction, announcement_id: uuid.UUID
) -> Response:
    post = await member_post(request, visit, f"/m/{announcement_id}")
    if isinstance(post, Response):
        return post
    try:
        async with guarded(tx):
            await announcement_service.cancel_announcement(
                tx,
                user=post.user,
                announcement_id=announcement_id,
                reason=post.fields["reason"][:1000] or None,
            )
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, f"/m/{announcement_id}?done=cancelled")


# --- people ---------------------------------------------------------------------------------------


@router.get("/u/{user_id}")
async def profile(visit: Visit, tx: Transaction, user_id: uuid.UUID) -> Response:
    try:
        person = await users_service.get_active_user(tx.session, user_id)
        reviews, _ = await reviews_service.list_for_user(
            tx.session, user_id, None, visit.user, PageParams(limit=30)
        )
    except NotFound:
        return not_found(visit)
    hosting, _ = await announcement_queries.list_announcements(
        tx.session, AnnouncementFilters(author_id=user_id), PageParams(limit=20)
    )
    return page(
        visit,
        "user.html",
        person=UserPublic.of(person),
        reviews=reviews,
        hosting=hosting,
        following=await web_community.follows_person(tx, user_id, visit),
    )
