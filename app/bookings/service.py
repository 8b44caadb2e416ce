"""Seat requests, approval, rejection, cancellation and the waitlist — without ever overbooking.

Every change of an announcement's seat counters happens while holding the announcement's row
lock, inside the request's one transaction; the CHECK constraint `approved_seats <= tickets_count`
is the last line of defence. Lock order, to rule out deadlocks: the guest's advisory lock (only
when requesting seats), then the announcement row, then booking rows.

The hot paths are two statements each (app/bookings/statements.py), sent on the session's
connection (Core, not the ORM unit of work): the facts the rules need, then one write that
re-checks under the lock. The rules are decided here, in the contract's order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events
from app.bookings import statements
from app.bookings.errors import (
    AlreadyBooked,
    AnnouncementClosed,
    NoSeats,
    OwnAnnouncement,
    SubscribersOnly,
    TimeConflict,
)
from app.bookings.schemas import (
    BookingAnnouncement,
    BookingCreate,
    BookingGuest,
    BookingHost,
    BookingPublic,
)
from app.bookings.transitions import check_move, counter_deltas
from app.core import clock
from app.core.db import Tx
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.i18n import N_
from app.core.logging import get_logger
from app.core.metrics import BOOKINGS
from app.core.shortcodes import new_code
from app.events import EventKind
from app.models.announcements import Announcement, Approval, has_started, is_closed
from app.models.bookings import ACTIVE_STATUSES, Booking, BookingStatus
from app.models.users import Role, User
from app.users.schemas import Rating

log = get_logger(__name__)
S = BookingStatus

# The outcomes of the seat request statement (app/bookings/statements.py) that refuse it; the
# statement's strings are the classes' codes. `no_seats` is apart: it carries the seats left.
_REFUSALS: dict[str, type[Conflict]] = {
    cls.code: cls for cls in (AnnouncementClosed, AlreadyBooked, TimeConflict)
}


def _no_seats(tickets_left: int) -> NoSeats:
    BOOKINGS.labels(NoSeats.code).inc()
    return NoSeats(tickets_left)


# --- requesting seats ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeatRequestFacts:
    """What the rules of a seat request need to know before the seats are taken."""

    announcement_id: uuid.UUID
    host_id: uuid.UUID
    host_name: str
    host_rating: Rating
    sub_only: bool
    closed: bool
    follows_host: bool


async def seat_request_facts(
    session: AsyncSession, *, guest_id: uuid.UUID, announcement_id: uuid.UUID
) -> SeatRequestFacts:
    """One query; 404 if there is no such announcement. Takes the guest's advisory lock."""
    row = (
        await (await session.connection()).execute(
            statements.SEAT_REQUEST_FACTS,
            {"guest_id": guest_id, "announcement_id": announcement_id, "now": clock.now()},
        )
    ).one_or_none()
    if row is None:
        raise NotFound(N_("No such announcement."))
    return SeatRequestFacts(
        announcement_id=row.id,
        host_id=row.author_id,
        host_name=row.host_name,
        host_rating=Rating.of_sum(row.host_rating_sum, row.host_rating_count),
        sub_only=row.sub_only,
        closed=row.closed,
        follows_host=row.follows_host,
    )


async def request_seats(
    tx: Tx,
    *,
    guest: User,
    announcement_id: uuid.UUID,
    data: BookingCreate,
    facts: SeatRequestFacts | None = None,
) -> BookingPublic:
    """Request seats: `approved` (auto), `pending` (manual) or `waitlisted`; errors in the
    contract's order (403 own_announcement, subscribers_only; 409 announcement_closed,
    already_booked, time_conflict, no_seats)."""
    if facts is None:
        facts = await seat_request_facts(
            tx.session, guest_id=guest.id, announcement_id=announcement_id
        )
    if facts.host_id == guest.id:
        raise OwnAnnouncement()
    if facts.sub_only and not facts.follows_host:
        raise SubscribersOnly()
    if facts.closed:
        raise AnnouncementClosed()

    now = clock.now()
    booking_id, event_id = uuid.uuid4(), uuid.uuid4()
    try:
        row = (
            await (await tx.session.connection()).execute(
                statements.REQUEST_SEATS,
                {
                    "announcement_id": announcement_id,
                    "guest_id": guest.id,
                    "seats": data.seats,
                    "join_waitlist": data.join_waitlist,
                    "message": data.message,
                    "booking_id": booking_id,
                    "event_id": event_id,
                    "short_code": new_code(),
                    "now": now,
                },
            )
        ).one()
    except IntegrityError as exc:  # the partial unique index: one active booking per guest
        if "uq_booking_active_guest" in str(exc.orig):
            raise AlreadyBooked() from exc
        raise
    if row.outcome in _REFUSALS:
        raise _REFUSALS[row.outcome]()
    if row.outcome == NoSeats.code:
        raise _no_seats(row.tickets_left)
    status = BookingStatus(row.outcome)
    events.enqueue_processing(tx, event_id)
    BOOKINGS.labels(status.value).inc()
    log.info("booking_created", booking_id=str(booking_id), status=status.value)
    # The hot paths build their answer from their own statement's row, whose columns are the
    # response's (a field added to bookings is added to that SQL anyway), without validating what
    # the database just returned; every other view of a booking is BookingPublic.of(row).
    return BookingPublic.model_construct(
        id=booking_id,
        announcement=BookingAnnouncement.model_construct(
            id=announcement_id,
            title=row.title,
            movie_title=row.movie_title,
            event_time=row.event_time,
            location=row.location,
        ),
        guest=BookingGuest.model_construct(
            id=guest.id, name=guest.name, guest_rating=Rating.of(guest.guest_rating)
        ),
        host=BookingHost.model_construct(
            id=facts.host_id, name=facts.host_name, host_rating=facts.host_rating
        ),
        seats=data.seats,
        status=status,
        message=data.message,
        reason=None,
        created=now,
        modified=now,
    )


# --- the host's and the guest's decisions ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """A booking and its announcement as read under the announcement's row lock."""

    row: Any  # the DECISION_FACTS row

    @property
    def status(self) -> BookingStatus:
        return BookingStatus(self.row.status)

    @property
    def tickets_left(self) -> int:
        return int(self.row.tickets_count - self.row.approved_seats)

    def is_closed(self, now: datetime) -> bool:
        return is_closed(self.row.cancelled_at, self.row.event_time, now)

    def has_started(self, now: datetime) -> bool:
        return has_started(self.row.cancelled_at, self.row.event_time, now)

    def is_host(self, user: User) -> bool:
        return bool(self.row.author_id == user.id)

    def view(self, status: BookingStatus, reason: str | None, modified: datetime) -> BookingPublic:
        r = self.row
        return BookingPublic.model_construct(
            id=r.id,
            announcement=BookingAnnouncement.model_construct(
                id=r.announcement_id,
                title=r.title,
                movie_title=r.movie_title,
                event_time=r.event_time,
                location=r.location,
            ),
            guest=BookingGuest.model_construct(
                id=r.guest_id,
                name=r.guest_name,
                guest_rating=Rating.of_sum(r.guest_rating_sum, r.guest_rating_count),
            ),
            host=BookingHost.model_construct(
                id=r.author_id,
                name=r.host_name,
                host_rating=Rating.of_sum(r.host_rating_sum, r.host_rating_count),
            ),
            seats=r.seats,
            status=status,
            message=r.message,
            reason=reason,
            created=r.created_at,
            modified=modified,
        )


@dataclass(frozen=True, slots=True)
class Move:
    """What a decision does: the new status, the event that reports it, and its payload."""

    to: BookingStatus
    event: EventKind
    payload: dict[str, Any]
    reason: str | None = None


async def _read_locked(tx: Tx, booking_id: uuid.UUID, user: User) -> Decision:
    row = (
        await (await tx.session.connection()).execute(
            statements.DECISION_FACTS, {"booking_id": booking_id}
        )
    ).one_or_none()
    if row is None or not (
        row.author_id == user.id or row.guest_id == user.id or user.role == Role.admin
    ):
        raise NotFound(N_("No such booking."))  # someone else's booking: not even its existence
    return Decision(row)


async def _move(
    tx: Tx,
    *,
    booking_id: uuid.UUID,
    current: BookingStatus,
    move: Move,
    seats: int,
    actor_id: uuid.UUID | None,
    now: datetime,
) -> bool:
    """Apply `move` if the booking is still `current`; the caller holds the row lock."""
    approved_delta, waitlist_delta = counter_deltas(current, move.to, seats)
    event_id = uuid.uuid4()
    result = (
        await (await tx.session.connection()).execute(
            statements.MOVE_BOOKING,
            {
                "booking_id": booking_id,
                "from_status": current.value,
                "to_status": move.to.value,
                "reason": move.reason,
                "approved_delta": approved_delta,
                "waitlist_delta": waitlist_delta,
                "event_id": event_id,
                "event_kind": move.event.value,
                "actor_id": actor_id,
                "payload": move.payload,
                "now": now,
            },
        )
    ).one()
    if not result.moved:
        return False
    events.enqueue_processing(tx, event_id)
    return True


async def _decide(
    tx: Tx, booking_id: uuid.UUID, user: User, rules: Callable[[Decision, datetime], Move]
) -> tuple[Decision, Move]:
    """Read the booking under the lock, let `rules` check and choose the move, apply it.

    The booking's status was read in the same statement that waited for the lock, so a change
    committed meanwhile can make it stale; then the guarded write moves nothing and the facts are
    read once more, now under the lock, where they can no longer change."""
    for _ in range(2):
        decision = await _read_locked(tx, booking_id, user)
        now = clock.now()
        move = rules(decision, now)
        if await _move(
            tx,
            booking_id=booking_id,
            current=decision.status,
            move=move,
            seats=decision.row.seats,
            actor_id=user.id,
            now=now,
        ):
            return decision, move
    raise RuntimeError(f"booking {booking_id} changed under the announcement's row lock")


def _require_host(decision: Decision, user: User) -> None:
    if not decision.is_host(user) and user.role != Role.admin:
        raise Forbidden(N_("Only the host decides on bookings."))


async def approve_booking(tx: Tx, *, booking_id: uuid.UUID, user: User) -> BookingPublic:
    def rules(decision: Decision, now: datetime) -> Move:
        _require_host(decision, user)
        if decision.is_closed(now):
            raise AnnouncementClosed()
        check_move(decision.status, S.approved)
        if decision.row.seats > decision.tickets_left:
            raise _no_seats(decision.tickets_left)
        return Move(S.approved, EventKind.booking_approved, {})

    decision, move = await _decide(tx, booking_id, user, rules)
    return decision.view(move.to, decision.row.reason, clock.now())


async def reject_booking(
    tx: Tx, *, booking_id: uuid.UUID, user: User, reason: str | None
) -> BookingPublic:
    def rules(decision: Decision, now: datetime) -> Move:
        _require_host(decision, user)
        if decision.has_started(now):
            raise AnnouncementClosed(N_("The meetup has started: it is too late to decide."))
        check_move(decision.status, S.rejected)
        return Move(S.rejected, EventKind.booking_rejected, {"reason": reason}, reason=reason)

    decision, move = await _decide(tx, booking_id, user, rules)
    await _move_the_queue(tx, decision)
    return decision.view(move.to, reason or decision.row.reason, clock.now())


async def cancel_booking(tx: Tx, *, booking_id: uuid.UUID, user: User) -> BookingPublic:
    def rules(decision: Decision, now: datetime) -> Move:
        if decision.has_started(now):
            raise AnnouncementClosed(N_("The meetup has started: it is too late to cancel."))
        check_move(decision.status, S.cancelled)  # 409 invalid_transition once it is over
        by = "guest" if decision.row.guest_id == user.id else "host"
        return Move(S.cancelled, EventKind.booking_cancelled, {"by": by})

    decision, move = await _decide(tx, booking_id, user, rules)
    await _move_the_queue(tx, decision)
    return decision.view(move.to, decision.row.reason, clock.now())


async def _move_the_queue(tx: Tx, decision: Decision) -> None:
    """After `decision`'s booking left `approved` or `pending`, its seats may let the queue move.
    (A waitlisted booking leaving frees no seat: nobody behind it fits where it did not.)"""
    row = decision.row
    if decision.status not in (S.approved, S.pending) or row.waitlist_count == 0:
        return
    await promote_waitlist(
        tx,
        announcement_id=row.announcement_id,
        approval=Approval(row.approval),
        tickets_left=decision.tickets_left + (row.seats if decision.status == S.approved else 0),
        closed=decision.is_closed(clock.now()),
    )


def promotion_budget(approval: Approval, tickets_left: int, *, pending_seats: int) -> int:
    """The seats the queue may move into. On a manual meetup pending bookings (which the host
    has not decided on yet, some promoted from the queue) keep theirs, or the queue would hand
    the same free seats to more guests than could be approved."""
    return tickets_left if approval == Approval.auto else tickets_left - pending_seats


async def promote_waitlist(
    tx: Tx,
    *,
    announcement_id: uuid.UUID,
    approval: Approval,
    tickets_left: int,
    closed: bool,
) -> int:
    """Move the earliest waitlisted bookings whose seats fit into the promotion budget (auto:
    approved; manual: pending, for the host to decide). The caller holds the announcement's row
    lock and passes its state after its own change. Returns how many were promoted.

    The queue is first come, first served: every change that frees seats calls this, so no
    waitlisted booking ever fits the budget while it waits, and a newcomer who fits takes
    nothing from anyone in the queue (the same rule, in SQL, in statements.REQUEST_SEATS)."""
    if closed or tickets_left <= 0:
        return 0
    to = S.approved if approval == Approval.auto else S.pending
    move = Move(to, EventKind.waitlist_promoted, {"status": to.value})
    promoted, now = 0, clock.now()
    waiting = (
        await (await tx.session.connection()).execute(
            statements.WAITLIST, {"announcement_id": announcement_id}
        )
    ).all()
    if not waiting:
        return 0
    budget = promotion_budget(approval, tickets_left, pending_seats=waiting[0].pending_seats)
    for booking_id, seats, _ in waiting:
        if seats > budget:
            continue
        budget -= seats
        await _move(
            tx,
            booking_id=booking_id,
            current=S.waitlisted,
            move=move,
            seats=seats,
            actor_id=None,
            now=now,
        )
        promoted += 1
    return promoted


# --- what a change of the meetup does to its bookings (called by the announcements service) ------


async def active_guest_ids(session: AsyncSession, announcement_id: uuid.UUID) -> list[str]:
    """The guests holding or waiting for seats of a meetup (whom its changes concern)."""
    rows = await session.scalars(
        select(col(Booking.guest_id))
        .where(
            col(Booking.announcement_id) == announcement_id,
            col(Booking.status).in_(ACTIVE_STATUSES),
        )
        .distinct()
    )
    return sorted(str(guest_id) for guest_id in rows)


async def has_bookings(session: AsyncSession, announcement_id: uuid.UUID) -> bool:
    """Whether the meetup ever had a booking, of any status."""
    return bool(
        await session.scalar(
            select(exists().where(col(Booking.announcement_id) == announcement_id))
        )
    )


async def cancel_all_for(tx: Tx, announcement: Announcement, now: datetime) -> None:
    """Cancel every active booking of a meetup being cancelled; the caller holds the
    announcement's row lock."""
    for status in ACTIVE_STATUSES:
        check_move(status, S.cancelled)  # the state machine allows it from every active status
    await tx.session.execute(
        update(Booking)
        .where(
            col(Booking.announcement_id) == announcement.id,
            col(Booking.status).in_(ACTIVE_STATUSES),
        )
        .values(status=S.cancelled, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    # counter_deltas of every approved and waitlisted booking leaving: nothing is left of either.
    announcement.approved_seats = 0
    announcement.waitlist_count = 0


async def retime_for(tx: Tx, announcement: Announcement) -> None:
    """Copy a moved meetup's times to its bookings (their copies drive the guests' overlap
    checks); the caller holds the announcement's row lock."""
    await tx.session.execute(
        update(Booking)
        .where(col(Booking.announcement_id) == announcement.id)
        .values(event_time=announcement.event_time, ends_at=announcement.ends_at)
        .execution_options(synchronize_session=False)
    )
