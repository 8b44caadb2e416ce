"""arq jobs of the bookings domain: pending and waitlisted bookings expire when the meetup starts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app import events
from app.bookings.transitions import counter_deltas, move
from app.core import clock
from app.core.db import Database, Tx
from app.core.logging import get_logger
from app.events import EventKind
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus

log = get_logger(__name__)
BATCH = 500


async def expire_started_bookings(ctx: dict[str, Any]) -> int:
    """Expire pending/waitlisted bookings of meetups that have started. Idempotent.

    One short transaction per meetup, taking the locks in the same order as the request paths
    (announcement row, then its bookings), so it can never deadlock with them.
    """
    db: Database = ctx["db"]
    waiting = (col(Booking.status).in_((BookingStatus.pending, BookingStatus.waitlisted)),)
    async with db.sessionmaker() as session:
        announcement_ids = (
            await session.scalars(
                select(col(Booking.announcement_id))
                .where(*waiting, col(Booking.event_time) <= clock.now())
                .distinct()
                .limit(BATCH)
            )
        ).all()
    expired = 0
    for announcement_id in announcement_ids:
        async with db.sessionmaker() as session, session.begin():
            tx = Tx(session, redis=ctx.get("redis"))
            announcement = await session.get(Announcement, announcement_id, with_for_update=True)
            bookings = (
                await session.scalars(
                    select(Booking)
                    .where(
                        *waiting,
                        col(Booking.announcement_id) == announcement_id,
                        col(Booking.event_time) <= clock.now(),
                    )
                    .with_for_update()
                )
            ).all()
            for booking in bookings:
                _, waitlisted = counter_deltas(booking.status, BookingStatus.expired, booking.seats)
                if announcement is not None:
                    announcement.waitlist_count += waitlisted
                move(booking, BookingStatus.expired)
                await events.record(
                    tx,
                    EventKind.booking_expired,
                    announcement_id=announcement_id,
                    booking_id=booking.id,
                )
            expired += len(bookings)
        await tx.run_after_commit()
    if expired:
        log.info("bookings_expired", count=expired)
    return expired


FUNCTIONS: list[Any] = [expire_started_bookings]


async def sweep(ctx: dict[str, Any]) -> None:
    """Every minute: expire what has started (the job is cheap when there is nothing to do)."""
    await ctx["redis"].enqueue_job(
        "expire_started_bookings", _job_id=f"expire-bookings:{int(clock.now().timestamp()) // 60}"
    )
