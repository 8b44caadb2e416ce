"""Seat requests, approval, rejection, cancellation and the waitlist — without ever overbooking.

Every change of `Announcement.approved_seats` happens while holding the announcement's row lock
(`SELECT ... FOR UPDATE`), inside the request's short transaction; the CHECK constraint
`approved_seats <= tickets_count` is the last line of defence. Lock order, to rule out deadlocks:
the guest's advisory lock (only when creating), then the announcement row, then booking rows.
Everything that needs no lock is read and validated before taking it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.announcements.models import Announcement, Approval
from app.bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from app.bookings.schemas import BookingCreate
from app.bookings.transitions import move
from app.core import clock, outbox
from app.core.config import get_settings
from app.core.db import Tx
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.logging import get_logger
from app.core.metrics import BOOKINGS
from app.core.shortcodes import new_code
from app.notifications.models import EventKind
from app.users import service as users_service
from app.users.models import Role, User

log = get_logger(__name__)
S = BookingStatus


def _closed(announcement: Announcement) -> Conflict | None:
    if announcement.cancelled_at is not None:
        return Conflict("This meetup was cancelled.", code="announcement_closed")
    if clock.now() >= announcement.event_time:
        return Conflict("This meetup has already started.", code="announcement_closed")
    return None


async def _lock_announcement(session: AsyncSession, announcement_id: uuid.UUID) -> Announcement:
    announcement = await session.get(
        Announcement, announcement_id, with_for_update=True, populate_existing=True
    )
    if announcement is None:
        raise NotFound("No such announcement.")
    return announcement


async def _active_booking_of(
    session: AsyncSession, guest_id: uuid.UUID, announcement_id: uuid.UUID
) -> Booking | None:
    return await session.scalar(
        select(Booking).where(
            Booking.guest_id == guest_id,
            Booking.announcement_id == announcement_id,
            Booking.status.in_(ACTIVE_STATUSES),  # type: ignore[attr-defined]
        )
    )


async def _overlapping_booking(
    session: AsyncSession, guest_id: uuid.UUID, announcement: Announcement
) -> bool:
    found = await session.scalar(
        select(Booking.id)
        .where(
            Booking.guest_id == guest_id,
            Booking.status.in_(ACTIVE_STATUSES),  # type: ignore[attr-defined]
            Booking.announcement_id != announcement.id,
            Booking.event_time < announcement.ends_at,
            Booking.ends_at > announcement.event_time,
        )
        .limit(1)
    )
    return found is not None


async def request_seats(
    tx: Tx, *, guest: User, announcement_id: uuid.UUID, data: BookingCreate
) -> Booking:
    session = tx.session
    # 1. Everything that needs no lock.
    announcement = await session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFound("No such announcement.")
    if announcement.author_id == guest.id:
        raise Forbidden("You cannot book your own meetup.", code="own_announcement")
    if announcement.sub_only and not await users_service.is_following(
        session, guest.id, announcement.author_id
    ):
        raise Forbidden(
            "This meetup is for the host's followers: follow them first.",
            code="subscribers_only",
        )
    if (closed := _closed(announcement)) is not None:
        raise closed
    if await _active_booking_of(session, guest.id, announcement.id):
        raise Conflict("You already have a booking for this meetup.", code="already_booked")

    # 2. One guest's requests run one at a time, so two racing requests cannot both pass the
    #    overlap check. An advisory lock: it blocks nothing else of the user's.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"booking-guest:{guest.id}"},
    )
    if await _active_booking_of(session, guest.id, announcement.id):
        raise Conflict("You already have a booking for this meetup.", code="already_booked")
    if await _overlapping_booking(session, guest.id, announcement):
        raise Conflict("You have another booking at an overlapping time.", code="time_conflict")

    # 3. The seat decision, serialized on the announcement's row.
    status = await _take_seats(session, announcement, data)
    booking = Booking(
        announcement_id=announcement.id,
        guest_id=guest.id,
        seats=data.seats,
        status=status,
        message=data.message,
        event_time=announcement.event_time,
        ends_at=announcement.ends_at,
        approved_at=clock.now() if status == S.approved else None,
        short_code=new_code(),
    )
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError as exc:  # the partial unique index: one active booking per guest
        raise Conflict(
            "You already have a booking for this meetup.", code="already_booked"
        ) from exc
    kind = EventKind.booking_approved if status == S.approved else EventKind.booking_requested
    await outbox.record(
        tx,
        kind,
        announcement_id=announcement.id,
        booking_id=booking.id,
        actor_id=guest.id,
        payload={"status": status.value},
    )
    BOOKINGS.labels(status.value).inc()
    log.info("booking_created", booking_id=str(booking.id), status=status.value)
    return booking


async def _take_seats(
    session: AsyncSession, announcement: Announcement, data: BookingCreate
) -> BookingStatus:
    """Decide the new booking's status and move the seat counters, serialized on the row.

    Two strategies (BOOKING_STRATEGY), measured side by side in the benchmark:
    - "lock": SELECT ... FOR UPDATE, decide in Python, UPDATE (two round trips under the lock);
    - "conditional": for an auto meetup, one `UPDATE ... WHERE approved_seats + n <= tickets_count
      RETURNING`; only when that finds no room does it fall back to the locking path.
    """
    auto = announcement.approval == Approval.auto
    if auto and get_settings().booking_strategy == "conditional":
        taken = await session.execute(
            update(Announcement)
            .where(
                Announcement.id == announcement.id,
                Announcement.cancelled_at.is_(None),  # type: ignore[union-attr]
                Announcement.event_time > clock.now(),
                Announcement.approved_seats + data.seats <= Announcement.tickets_count,
            )
            .values(approved_seats=Announcement.approved_seats + data.seats)
            .returning(Announcement.id)
            .execution_options(synchronize_session=False)
        )
        if taken.first() is not None:
            return S.approved
    locked = await _lock_announcement(session, announcement.id)
    if (closed := _closed(locked)) is not None:
        raise closed
    if data.seats <= locked.tickets_left:
        if auto:
            locked.approved_seats += data.seats
            return S.approved
        return S.pending
    if data.join_waitlist:
        locked.waitlist_count += 1
        return S.waitlisted
    BOOKINGS.labels("no_seats").inc()
    raise Conflict(f"Only {locked.tickets_left} seat(s) left.", code="no_seats")


async def promote_waitlist(tx: Tx, announcement: Announcement) -> list[Booking]:
    """Move the earliest waitlisted bookings whose seats fit into the free seats (auto:
    approved; manual: pending, for the host to decide). The caller holds the row lock."""
    if announcement.cancelled_at is not None or clock.now() >= announcement.event_time:
        return []
    budget = announcement.tickets_left
    if budget <= 0:
        return []
    waiting = (
        await tx.session.scalars(
            select(Booking)
            .where(Booking.announcement_id == announcement.id, Booking.status == S.waitlisted)
            .order_by(Booking.created_at, Booking.id)
            .with_for_update()
        )
    ).all()
    promoted = []
    for booking in waiting:
        if booking.seats > budget:
            continue
        budget -= booking.seats
        if announcement.approval == Approval.auto:
            move(booking, S.approved)
            announcement.approved_seats += booking.seats
        else:
            move(booking, S.pending)
        announcement.waitlist_count -= 1
        promoted.append(booking)
    await tx.session.flush()
    for booking in promoted:
        await outbox.record(
            tx,
            EventKind.waitlist_promoted,
            announcement_id=announcement.id,
            booking_id=booking.id,
            payload={"status": booking.status.value},
        )
    return promoted


# --- the host's and the guest's decisions ----------------------------------------------------------


async def _booking_for_change(
    tx: Tx, booking_id: uuid.UUID, user: User
) -> tuple[Booking, Announcement]:
    """The booking and its announcement, both locked (announcement first), if `user` may see it."""
    booking = await tx.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    announcement = await _lock_announcement(tx.session, booking.announcement_id)
    booking = await tx.session.get(
        Booking, booking_id, with_for_update=True, populate_existing=True
    )
    assert booking is not None
    is_host = announcement.author_id == user.id
    if not (is_host or booking.guest_id == user.id or user.role == Role.admin):
        raise NotFound("No such booking.")  # someone else's booking: not even its existence
    return booking, announcement


def _require_host(announcement: Announcement, user: User) -> None:
    if announcement.author_id != user.id and user.role != Role.admin:
        raise Forbidden("Only the host decides on bookings.")


async def approve_booking(tx: Tx, *, booking_id: uuid.UUID, user: User) -> Booking:
    booking, announcement = await _booking_for_change(tx, booking_id, user)
    _require_host(announcement, user)
    if (closed := _closed(announcement)) is not None:
        raise closed
    was_waitlisted = booking.status == S.waitlisted
    move(booking, S.approved)  # 409 invalid_transition unless pending or waitlisted
    if booking.seats > announcement.tickets_left:
        raise Conflict(f"Only {announcement.tickets_left} seat(s) left.", code="no_seats")
    announcement.approved_seats += booking.seats
    if was_waitlisted:
        announcement.waitlist_count -= 1
    await tx.session.flush()
    await outbox.record(
        tx,
        EventKind.booking_approved,
        announcement_id=announcement.id,
        booking_id=booking.id,
        actor_id=user.id,
    )
    return booking


async def reject_booking(
    tx: Tx, *, booking_id: uuid.UUID, user: User, reason: str | None
) -> Booking:
    booking, announcement = await _booking_for_change(tx, booking_id, user)
    _require_host(announcement, user)
    was_waitlisted = booking.status == S.waitlisted
    move(booking, S.rejected)
    booking.reason = reason
    if was_waitlisted:
        announcement.waitlist_count -= 1
    await tx.session.flush()
    await outbox.record(
        tx,
        EventKind.booking_rejected,
        announcement_id=announcement.id,
        booking_id=booking.id,
        actor_id=user.id,
        payload={"reason": reason},
    )
    return booking


async def cancel_booking(tx: Tx, *, booking_id: uuid.UUID, user: User) -> Booking:
    booking, announcement = await _booking_for_change(tx, booking_id, user)
    by_guest = booking.guest_id == user.id
    if announcement.cancelled_at is None and clock.now() >= announcement.event_time:
        raise Conflict(
            "The meetup has started: it is too late to cancel.", code="announcement_closed"
        )
    previous = booking.status
    move(booking, S.cancelled)  # 409 invalid_transition for a booking already over
    if previous == S.approved:
        announcement.approved_seats -= booking.seats
    elif previous == S.waitlisted:
        announcement.waitlist_count -= 1
    await tx.session.flush()
    await outbox.record(
        tx,
        EventKind.booking_cancelled,
        announcement_id=announcement.id,
        booking_id=booking.id,
        actor_id=user.id,
        payload={"by": "guest" if by_guest else "host"},
    )
    if previous == S.approved:
        await promote_waitlist(tx, announcement)
    return booking


# --- reading -------------------------------------------------------------------------------------


async def get_visible_booking(session: AsyncSession, booking_id: uuid.UUID, user: User) -> Booking:
    row = (
        await session.execute(
            select(Booking, Announcement.author_id)
            .join(Announcement, Announcement.id == Booking.announcement_id)
            .where(Booking.id == booking_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such booking.")
    booking, host_id = row
    if user.id not in (booking.guest_id, host_id) and user.role != Role.admin:
        raise NotFound("No such booking.")
    return booking


async def count_active(session: AsyncSession, announcement_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.announcement_id == announcement_id, Booking.status.in_(ACTIVE_STATUSES))  # type: ignore[attr-defined]
        )
        or 0
    )
