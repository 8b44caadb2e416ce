"""Reminders (24 h and 1 h before the start) and review invitations (after the end): to the host
and the approved guests, at most once per person, meetup and kind.

Two paths lead here, and either alone is enough:
- punctuality: when an announcement is created or moved, a deferred arq job is scheduled for each
  reminder's due time, its id carrying the event_time (`reminder:24h:{id}:{epoch}`), so a moved
  meetup gets new jobs and the old ones, finding another event_time, do nothing;
- safety: the minute sweep asks PostgreSQL which reminders are due and not yet sent (no host
  notification with that dedupe key) and enqueues them; so a lost Redis, a worker that was down at
  the due time or a deferred job that vanished costs at most a minute (or until the worker is
  back), never the reminder, as long as the meetup has not started.
The unique dedupe key (`reminder_24h:{announcement_id}:{user_id}`) makes both paths, retries and
two workers add up to one notification per person.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlmodel import col

from app.core import clock, i18n
from app.core.db import Database, Tx
from app.core.logging import get_logger
from app.models.announcements import Announcement
from app.models.bookings import Booking, BookingStatus
from app.models.notifications import Notification
from app.notifications import render
from app.notifications.delivery import deliver, locales_of
from app.notifications.render import Notice

log = get_logger(__name__)

REMINDERS: dict[str, timedelta] = {
    "reminder_24h": timedelta(hours=24),
    "reminder_1h": timedelta(hours=1),
}
REVIEW_INVITATION = "review_invitation"
SEND_REMINDER_JOB = "send_reminder"
SEND_REVIEW_INVITATIONS_JOB = "send_review_invitations"
SWEEP_BATCH = 500
# The sweep re-schedules the deferred jobs of reminders due this soon (in case Redis lost them).
SCHEDULE_AHEAD = timedelta(hours=1)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def reminder_job_id(kind: str, announcement_id: uuid.UUID | str, event_epoch: int) -> str:
    return f"reminder:{kind.removeprefix('reminder_')}:{announcement_id}:{event_epoch}"


def dedupe_key(kind: str, announcement_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"{kind}:{announcement_id}:{user_id}"


def schedule_reminders(tx: Tx, announcement: Announcement) -> None:
    """After commit, defer one job per reminder to its due time (a no-op for a job already
    scheduled: the id is taken). A due time already passed runs at once; the job decides."""
    now = clock.now()
    if announcement.is_closed_at(now):
        return
    event_epoch = epoch(announcement.event_time)
    for kind, lead in REMINDERS.items():
        due = announcement.event_time - lead
        if announcement.created_at > due:
            continue  # announced after that point: no such reminder
        tx.enqueue_after_commit(
            SEND_REMINDER_JOB,
            str(announcement.id),
            kind,
            event_epoch,
            job_id=reminder_job_id(kind, announcement.id, event_epoch),
            defer_until=due if due > now else None,
        )


async def _locked_announcement(tx: Tx, announcement_id: str) -> Announcement | None:
    # FOR SHARE: an approval (which locks the row FOR UPDATE) commits before we read the guests,
    # so "approved before the due time" is judged on committed data.
    return await tx.session.get(
        Announcement, uuid.UUID(announcement_id), with_for_update={"read": True}
    )


async def _approved_guests(
    tx: Tx, announcement_id: uuid.UUID, approved_by: datetime | None = None
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    query = select(col(Booking.guest_id), col(Booking.id)).where(
        col(Booking.announcement_id) == announcement_id,
        col(Booking.status) == BookingStatus.approved,
    )
    if approved_by is not None:
        query = query.where(col(Booking.approved_at) <= approved_by)
    return [(guest, booking) for guest, booking in (await tx.session.execute(query)).all()]


async def _notify_participants(
    tx: Tx,
    announcement: Announcement,
    kind: str,
    guests: list[tuple[uuid.UUID, uuid.UUID]],
) -> int:
    link = render.meetup_link(announcement)
    locales = await locales_of(tx, [announcement.author_id, *(guest for guest, _ in guests)])

    def notice(user_id: uuid.UUID, booking_id: uuid.UUID | None) -> Notice:
        hosting = booking_id is None
        locale = locales.get(user_id, i18n.DEFAULT)
        if kind == REVIEW_INVITATION:
            title, body = render.review_invitation(announcement, hosting, locale=locale)
        else:
            title, body = render.reminder(announcement, hosting, clock.now(), locale=locale)
        return Notice(
            user_id=user_id,
            kind=kind,
            dedupe_key=dedupe_key(kind, announcement.id, user_id),
            title=title,
            body=body,
            link=link,
            announcement_id=announcement.id,
            booking_id=booking_id,
            attach_ics=kind in REMINDERS,
        )

    notices = [notice(announcement.author_id, None)]
    notices += [notice(guest, booking) for guest, booking in guests]
    return await deliver(tx, notices, announcement=announcement)


async def send_reminder(
    ctx: dict[str, Any], announcement_id: str, kind: str, event_epoch: int
) -> str:
    """Remind the host and the guests approved by the due time. Does nothing for a meetup that
    moved (another event_time), was cancelled or has started, and before the due time."""
    if kind not in REMINDERS:
        return "unknown_kind"
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=ctx.get("redis"))
        async with session.begin():
            announcement = await _locked_announcement(tx, announcement_id)
            if announcement is None or announcement.cancelled_at is not None:
                return "cancelled"
            if epoch(announcement.event_time) != event_epoch:
                return "moved"
            now, due = clock.now(), announcement.event_time - REMINDERS[kind]
            if now < due:
                return "not_due"
            if now >= announcement.event_time:
                return "started"
            if announcement.created_at > due:
                return "announced_later"
            guests = await _approved_guests(tx, announcement.id, approved_by=due)
            sent = await _notify_participants(tx, announcement, kind, guests)
        await tx.run_after_commit()
    if sent:
        log.info("reminders_sent", announcement_id=announcement_id, kind=kind, count=sent)
    return f"sent:{sent}"


async def send_review_invitations(ctx: dict[str, Any], announcement_id: str) -> str:
    """Invite the host and the approved guests to rate each other, once the meetup has ended
    (not when it had no approved guest: there is nobody to rate)."""
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        tx = Tx(session, redis=ctx.get("redis"))
        async with session.begin():
            announcement = await _locked_announcement(tx, announcement_id)
            if announcement is None or announcement.cancelled_at is not None:
                return "cancelled"
            now = clock.now()
            if now < announcement.ends_at:
                return "not_ended"
            if not announcement.in_review_window(now):
                return "window_closed"
            guests = await _approved_guests(tx, announcement.id)
            if not guests:
                return "no_guests"  # nobody to rate, on either side
            sent = await _notify_participants(tx, announcement, REVIEW_INVITATION, guests)
        await tx.run_after_commit()
    if sent:
        log.info("review_invitations_sent", announcement_id=announcement_id, count=sent)
    return f"sent:{sent}"


# --- the sweep's part -----------------------------------------------------------------------------


def _host_not_notified(kind: str) -> Any:
    """No notification of `kind` for the host yet: the batch (host and guests are written in one
    transaction) has not run. A lookup on the unique dedupe_key index."""
    key = func.concat(kind, ":", col(Announcement.id), ":", col(Announcement.author_id))
    return ~exists().where(col(Notification.dedupe_key) == key)


def _minute() -> int:
    return epoch(clock.now()) // 60


def _reminders_between(kind: str, lead: timedelta, start: datetime, end: datetime) -> Any:
    """Meetups (not cancelled, announced before the due time, host not reminded yet) whose
    `kind` reminder falls due in (start, end]."""
    return (
        select(col(Announcement.id), col(Announcement.event_time))
        .where(
            col(Announcement.cancelled_at).is_(None),
            col(Announcement.event_time) > start + lead,
            col(Announcement.event_time) <= end + lead,
            col(Announcement.created_at) <= col(Announcement.event_time) - lead,
            _host_not_notified(kind),
        )
        .order_by(col(Announcement.event_time))
        .limit(SWEEP_BATCH)
    )


async def enqueue_due_reminders(ctx: dict[str, Any]) -> int:
    """Enqueue every reminder whose time has come, for meetups not started nor cancelled; and
    (re)schedule the deferred jobs of those due within the next SCHEDULE_AHEAD, so that even
    after Redis lost them the reminders go out on the dot rather than at the next sweep."""
    db: Database = ctx["db"]
    redis = ctx["redis"]
    now = clock.now()
    due: list[tuple[str, uuid.UUID, datetime]] = []
    upcoming: list[tuple[str, uuid.UUID, datetime]] = []
    async with db.sessionmaker() as session:
        for kind, lead in REMINDERS.items():
            # Due: event_time - lead <= now < event_time.
            rows = await session.execute(_reminders_between(kind, lead, now - lead, now))
            due += [(kind, announcement_id, at) for announcement_id, at in rows.all()]
            rows = await session.execute(_reminders_between(kind, lead, now, now + SCHEDULE_AHEAD))
            upcoming += [(kind, announcement_id, at) for announcement_id, at in rows.all()]
    enqueued = 0
    for kind, announcement_id, event_time in due:
        event_epoch = epoch(event_time)
        job = await redis.enqueue_job(
            SEND_REMINDER_JOB,
            str(announcement_id),
            kind,
            event_epoch,
            _job_id=f"{reminder_job_id(kind, announcement_id, event_epoch)}:sweep:{_minute()}",
        )
        enqueued += job is not None
    for kind, announcement_id, event_time in upcoming:
        event_epoch = epoch(event_time)
        # The punctual job's own id: a no-op while it is still queued.
        job = await redis.enqueue_job(
            SEND_REMINDER_JOB,
            str(announcement_id),
            kind,
            event_epoch,
            _job_id=reminder_job_id(kind, announcement_id, event_epoch),
            _defer_until=event_time - REMINDERS[kind],
        )
        enqueued += job is not None
    if enqueued:
        log.info("sweep_enqueued_reminders", count=enqueued)
    return enqueued


async def enqueue_due_review_invitations(ctx: dict[str, Any]) -> int:
    """Enqueue the invitations of meetups that ended (within the review window) and have none."""
    db: Database = ctx["db"]
    now = clock.now()
    async with db.sessionmaker() as session:
        ended = (
            await session.scalars(
                select(col(Announcement.id))
                .where(
                    Announcement.in_review_window(now),
                    exists().where(
                        col(Booking.announcement_id) == col(Announcement.id),
                        col(Booking.status) == BookingStatus.approved,
                    ),
                    _host_not_notified(REVIEW_INVITATION),
                )
                .order_by(col(Announcement.ends_at))
                .limit(SWEEP_BATCH)
            )
        ).all()
    enqueued = 0
    for announcement_id in ended:
        job = await ctx["redis"].enqueue_job(
            SEND_REVIEW_INVITATIONS_JOB,
            str(announcement_id),
            _job_id=f"review_invitation:{announcement_id}:sweep:{_minute()}",
        )
        enqueued += job is not None
    if enqueued:
        log.info("sweep_enqueued_review_invitations", count=enqueued)
    return enqueued
