"""/api/v1 routes of the announcements domain, and the root-level short links `/s/{code}`.

Documented choices where the contract is silent:
- `q` matches each word as a word prefix ("tark" finds "Tarkovsky"), any case, in the title, the
  description and the film title; all words must match.
- `location` matches a part of the location, any case. `tag` and `status` may be repeated: every
  tag must be present; any of the statuses will do.
- `date_from`/`date_to` take ISO 8601 instants with an offset; a plain date (2026-05-01) means the
  start (date_from) or the whole (date_to) of that day in UTC.
- `price` is a decimal string; a free meetup has `price: null`, a paid one needs a price above 0.
- Deleting is for meetups that never had a booking of any status; otherwise cancel them.
- `User.hosted_count` counts the announcements that are not cancelled, past ones included.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from app.announcements import queries, service
from app.announcements.calendar import build_ics
from app.announcements.dependencies import ExistingAnnouncement, Filters
from app.announcements.errors import (
    CapacityBelowBooked,
    DuplicateAnnouncement,
    EventTimeNotInFuture,
    HasBookings,
    InvalidPrice,
    UnknownMovie,
)
from app.announcements.schemas import (
    AnnouncementCreate,
    AnnouncementListItem,
    AnnouncementPublic,
    AnnouncementUpdate,
    CancelRequest,
)
from app.bookings.errors import AnnouncementClosed
from app.core.config import get_settings
from app.core.db import Transaction
from app.core.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotAuthenticated,
    NotFound,
    errors,
)
from app.core.idempotency import Idempotent
from app.core.pagination import Page, Pagination
from app.sessions.dependencies import CurrentUser, OptionalUser

router = APIRouter(tags=["announcements"])

# Short links live at the root: GET /s/{code}.
short_links_router = APIRouter(tags=["short links"])


@router.post(
    "/announcements",
    status_code=201,
    response_model=AnnouncementPublic,
    responses=errors(
        NotAuthenticated,
        EventTimeNotInFuture,
        UnknownMovie,
        IdempotencyKeyReused,
        DuplicateAnnouncement,
    ),
)
async def create_announcement(
    user: CurrentUser,
    body: AnnouncementCreate,
    tx: Transaction,
    once: Idempotent,
) -> AnnouncementPublic | JSONResponse:
    """Announce a meetup; the author's followers are told.

    Name the film with `movie_id` (catalog) or `movie_title` (free text). `duration_minutes`
    defaults to the movie's runtime, else 120. The author's `hosted_count` (announcements not
    cancelled) grows by one. Times are returned in UTC; `timezone` is for local display.
    """

    return await once(user.id, service.announce(tx, author=user, data=body), body)


@router.get("/announcements", response_model=Page[AnnouncementListItem])
async def list_announcements(
    filters: Filters, page: Pagination, tx: Transaction
) -> Page[AnnouncementListItem]:
    """Find meetups: upcoming ones by start time unless filters or `sort` say otherwise.

    Every filter narrows the others. Without `status` the list holds the upcoming meetups
    (`open` and `full`); `date_from`/`date_to` are inclusive bounds on event_time.
    """
    items, total = await queries.list_announcements(tx.session, filters, page)
    return Page(items=items, total=total, **page.model_dump())


@router.get(
    "/announcements/{announcement_id}",
    response_model=AnnouncementPublic,
    responses=errors(NotAuthenticated, NotFound),
)
async def get_announcement(
    announcement_id: uuid.UUID, viewer: OptionalUser, tx: Transaction
) -> AnnouncementPublic:
    """One meetup in full, with its guest list (and, for a signed-in caller, their friends
    among the guests)."""
    return await queries.announcement_view(tx.session, announcement_id, viewer)


@router.patch(
    "/announcements/{announcement_id}",
    response_model=AnnouncementPublic,
    responses=errors(
        NotAuthenticated,
        NotFound,
        EventTimeNotInFuture,
        UnknownMovie,
        InvalidPrice,
        Forbidden,
        AnnouncementClosed,
        CapacityBelowBooked,
        DuplicateAnnouncement,
    ),
)
async def update_announcement(
    user: CurrentUser,
    announcement: ExistingAnnouncement,
    body: AnnouncementUpdate,
    tx: Transaction,
) -> AnnouncementPublic:
    """Change a meetup (its author or an admin); guests with active bookings are told."""
    await service.update_announcement(tx, user=user, announcement_id=announcement.id, data=body)
    return await queries.announcement_view(tx.session, announcement.id, user)


@router.post(
    "/announcements/{announcement_id}/cancel",
    response_model=AnnouncementPublic,
    responses=errors(NotAuthenticated, NotFound, Forbidden, AnnouncementClosed),
)
async def cancel_announcement(
    user: CurrentUser,
    announcement: ExistingAnnouncement,
    tx: Transaction,
    body: CancelRequest | None = None,
) -> AnnouncementPublic:
    """Cancel a meetup (its author or an admin); every active booking is cancelled."""
    await service.cancel_announcement(
        tx, user=user, announcement_id=announcement.id, reason=body.reason if body else None
    )
    return await queries.announcement_view(tx.session, announcement.id, user)


@router.delete(
    "/announcements/{announcement_id}",
    status_code=204,
    responses=errors(NotAuthenticated, NotFound, Forbidden, HasBookings),
)
async def delete_announcement(
    user: CurrentUser, announcement: ExistingAnnouncement, tx: Transaction
) -> Response:
    """Delete a meetup that never had a booking (its author or an admin)."""
    await service.delete_announcement(tx, user=user, announcement_id=announcement.id)
    return Response(status_code=204)


@router.get(
    "/announcements/{announcement_id}/calendar.ics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/calendar": {"schema": {"type": "string"}}},
            "description": "An RFC 5545 calendar with the meetup as one event",
        },
        **errors(NotFound),
    },
)
async def get_announcement_calendar(announcement: ExistingAnnouncement) -> Response:
    """The meetup as an iCalendar (.ics) event, in its local time zone."""
    return Response(
        content=build_ics(announcement),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="meetup-{announcement.short_code}.ics"'
        },
    )


_TOGGLE: dict[str, Any] = {"status_code": 204, "responses": errors(NotAuthenticated, NotFound)}


@router.put("/announcements/{announcement_id}/like", **_TOGGLE)
async def like_announcement(
    user: CurrentUser, announcement: ExistingAnnouncement, tx: Transaction
) -> Response:
    """Like a meetup (idempotent)."""
    await service.like(tx, user=user, announcement_id=announcement.id)
    return Response(status_code=204)


@router.delete("/announcements/{announcement_id}/like", **_TOGGLE)
async def unlike_announcement(
    user: CurrentUser, announcement: ExistingAnnouncement, tx: Transaction
) -> Response:
    """Take back a like (idempotent)."""
    await service.unlike(tx, user=user, announcement_id=announcement.id)
    return Response(status_code=204)


@router.put("/announcements/{announcement_id}/favorite", **_TOGGLE)
async def add_favorite(
    user: CurrentUser, announcement: ExistingAnnouncement, tx: Transaction
) -> Response:
    """Add a meetup to the caller's favorites (idempotent)."""
    await service.add_favorite(tx, user=user, announcement_id=announcement.id)
    return Response(status_code=204)


@router.delete("/announcements/{announcement_id}/favorite", **_TOGGLE)
async def remove_favorite(
    user: CurrentUser, announcement: ExistingAnnouncement, tx: Transaction
) -> Response:
    """Remove a meetup from the caller's favorites (idempotent)."""
    await service.remove_favorite(tx, user=user, announcement_id=announcement.id)
    return Response(status_code=204)


@router.get(
    "/users/me/favorites",
    response_model=Page[AnnouncementListItem],
    responses=errors(NotAuthenticated),
)
async def list_my_favorites(
    user: CurrentUser, page: Pagination, tx: Transaction
) -> Page[AnnouncementListItem]:
    """The caller's favorite meetups, whatever their status, last added first."""
    items, total = await queries.list_favorites(tx.session, user.id, page)
    return Page(items=items, total=total, **page.model_dump())


@short_links_router.get(
    "/s/{code}",
    status_code=307,
    response_class=RedirectResponse,
    responses={
        307: {"description": "Redirect to the announcement or booking in the API"},
        **errors(NotFound),
    },
)
async def follow_short_link(code: str, tx: Transaction, request: Request) -> RedirectResponse:
    """Follow a short link to the announcement or booking it names (a browser, which asks for
    `text/html`, gets the web page; an API client the API URL)."""
    target = await queries.short_link_target(tx.session, code)
    base = get_settings().public_base_url.rstrip("/")
    if "text/html" in request.headers.get("accept", ""):
        kind, _, target_id = target.partition("/")
        page = f"/m/{target_id}" if kind == "announcements" else f"/me#booking-{target_id}"
        return RedirectResponse(f"{base}{page}", status_code=307)
    return RedirectResponse(f"{base}/api/v1/{target}", status_code=307)
