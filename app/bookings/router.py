"""/api/v1 bookings: request seats, the host's decisions, cancellation, and who sees what."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from app.bookings import queries, service
from app.bookings.errors import (
    AlreadyBooked,
    AnnouncementClosed,
    InvalidTransition,
    NoSeats,
    OwnAnnouncement,
    SubscribersOnly,
    TimeConflict,
)
from app.bookings.schemas import BookingCreate, BookingPublic, BookingRole, RejectRequest
from app.core.db import Transaction
from app.core.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotAuthenticated,
    NotFound,
    errors,
)
from app.core.i18n import N_
from app.core.idempotency import Idempotent
from app.core.pagination import Page, Pagination
from app.models.announcements import Announcement
from app.models.bookings import BookingStatus
from app.models.users import Role
from app.sessions.dependencies import CurrentUser

router = APIRouter(tags=["bookings"])


async def _existing_announcement(announcement_id: uuid.UUID, tx: Transaction) -> Announcement:
    """404 before the body is validated: the contract orders 401, 404, 422, 403, 409."""
    announcement = await tx.session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFound(N_("No such announcement."))
    return announcement


async def _seat_request_facts(
    announcement_id: uuid.UUID, user: CurrentUser, tx: Transaction
) -> service.SeatRequestFacts:
    """The facts a seat request's rules need, read before the body is validated (404 first)."""
    return await service.seat_request_facts(
        tx.session, guest_id=user.id, announcement_id=announcement_id
    )


ExistingAnnouncement = Annotated[Announcement, Depends(_existing_announcement)]


@router.post(
    "/announcements/{announcement_id}/bookings",
    status_code=201,
    response_model=BookingPublic,
    responses=errors(
        NotAuthenticated,
        NotFound,
        IdempotencyKeyReused,
        OwnAnnouncement,
        SubscribersOnly,
        AnnouncementClosed,
        AlreadyBooked,
        TimeConflict,
        NoSeats,
    ),
)
async def request_seats(
    announcement_id: uuid.UUID,
    user: CurrentUser,
    facts: Annotated[service.SeatRequestFacts, Depends(_seat_request_facts)],
    body: BookingCreate,
    tx: Transaction,
    once: Idempotent,
) -> BookingPublic | JSONResponse:
    """Request seats on a meetup (auto: approved at once; manual: pending)."""

    work = service.request_seats(
        tx, guest=user, announcement_id=announcement_id, data=body, facts=facts
    )
    return await once(user.id, work, body)


@router.get(
    "/announcements/{announcement_id}/bookings",
    response_model=Page[BookingPublic],
    responses=errors(NotAuthenticated, NotFound, Forbidden),
)
async def list_announcement_bookings(
    announcement_id: uuid.UUID,
    user: CurrentUser,
    announcement: ExistingAnnouncement,
    tx: Transaction,
    page: Pagination,
    status: BookingStatus | None = None,
) -> Page[BookingPublic]:
    """Every booking of a meetup, any status (its host or an admin)."""
    if announcement.author_id != user.id and user.role != Role.admin:
        raise Forbidden(N_("Only the host sees the bookings of a meetup."))
    items, total = await queries.list_bookings(
        tx.session, page=page, announcement_id=announcement_id, status=status
    )
    return Page(items=items, total=total, **page.model_dump())


@router.get("/bookings", response_model=Page[BookingPublic], responses=errors(NotAuthenticated))
async def list_my_bookings(
    user: CurrentUser,
    tx: Transaction,
    page: Pagination,
    role: Annotated[
        BookingRole,
        Query(
            description="`guest` (default): the caller's own bookings; `host`: "
            "the bookings of the meetups the caller hosts"
        ),
    ] = BookingRole.guest,
    status: BookingStatus | None = None,
    announcement_id: uuid.UUID | None = None,
) -> Page[BookingPublic]:
    """The caller's bookings: as guest (default), or on the meetups the caller hosts."""
    items, total = await queries.list_bookings(
        tx.session,
        page=page,
        guest_id=user.id if role == "guest" else None,
        host_id=user.id if role == "host" else None,
        announcement_id=announcement_id,
        status=status,
    )
    return Page(items=items, total=total, **page.model_dump())


@router.get(
    "/bookings/{booking_id}",
    response_model=BookingPublic,
    responses=errors(NotAuthenticated, NotFound),
)
async def get_booking(booking_id: uuid.UUID, user: CurrentUser, tx: Transaction) -> BookingPublic:
    """One booking (its guest, its host or an admin; anyone else gets 404)."""
    view = await queries.booking_view(tx.session, booking_id)
    if view is None or not (user.id in (view.guest.id, view.host.id) or user.role == Role.admin):
        raise NotFound(N_("No such booking."))
    return view


@router.post(
    "/bookings/{booking_id}/approve",
    response_model=BookingPublic,
    responses=errors(
        NotAuthenticated, NotFound, Forbidden, AnnouncementClosed, InvalidTransition, NoSeats
    ),
)
async def approve_booking(
    booking_id: uuid.UUID, user: CurrentUser, tx: Transaction
) -> BookingPublic:
    """Approve a pending or waitlisted booking (the host)."""
    return await service.approve_booking(tx, booking_id=booking_id, user=user)


@router.post(
    "/bookings/{booking_id}/reject",
    response_model=BookingPublic,
    responses=errors(NotAuthenticated, NotFound, Forbidden, AnnouncementClosed, InvalidTransition),
)
async def reject_booking(
    booking_id: uuid.UUID, user: CurrentUser, tx: Transaction, body: RejectRequest | None = None
) -> BookingPublic:
    """Reject a pending or waitlisted booking (the host)."""
    return await service.reject_booking(
        tx, booking_id=booking_id, user=user, reason=body.reason if body else None
    )


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=BookingPublic,
    responses=errors(NotAuthenticated, NotFound, AnnouncementClosed, InvalidTransition),
)
async def cancel_booking(
    booking_id: uuid.UUID, user: CurrentUser, tx: Transaction
) -> BookingPublic:
    """Cancel a booking (its guest or its host); freed seats go to the waitlist."""
    return await service.cancel_booking(tx, booking_id=booking_id, user=user)
