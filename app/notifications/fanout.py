"""The outbox worker: one domain event becomes one notification per recipient.

`process_event` locks the event row (`FOR UPDATE SKIP LOCKED`: a second worker holding the same
event skips it), writes the notifications and their emails, and marks the event processed, all in
one transaction; a crash rolls everything back and the retry starts clean. The unique dedupe key
(`{event_id}:{user_id}:{kind}`; `{event_id}:{user_id}:announced` for both kinds of the
announcement fan-out) is the second guard.

`announcement_created` goes to every follower of the author (new_announcement) and, for a meetup
of a catalog film, to the film's other followers (new_movie_meetup), which may be 100 000 people:
it is done in batches of `BATCH_SIZE` people in user-id order over both audiences at once, each
batch in its own transaction that also moves `DomainEvent.cursor` past it, so a crash resumes
after the last committed batch. After `TIME_BUDGET_S` a job hands the rest to a fresh job, so one big fan-out
never holds a worker slot for long.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Select, false, func, select, true, union_all, update
from sqlmodel import col

from app.core import clock, i18n
from app.core.db import Database, Tx
from app.core.i18n import words
from app.core.logging import get_logger
from app.events import PROCESS_EVENT_JOB, DomainEvent, EventKind
from app.models.announcements import Announcement
from app.models.bookings import Booking
from app.models.movies import MovieFollow
from app.models.users import Follow, User
from app.notifications import render
from app.notifications.delivery import deliver, locales_of
from app.notifications.reminders import schedule_reminders
from app.notifications.render import Notice

log = get_logger(__name__)

BATCH_SIZE = 1000
TIME_BUDGET_S = 5.0
NEW_ANNOUNCEMENT = "new_announcement"
NEW_MOVIE_MEETUP = "new_movie_meetup"
# The dedupe-key suffix shared by the two kinds of one announcement's fan-out: one notice per
# person and meetup, whichever kind it is (a retry after a follow changed the kind adds nothing).
ANNOUNCED = "announced"
# Events that fail this often are left for a person to look at (last_error, /admin).
MAX_ATTEMPTS = 10


class _Context:
    """What the notices of one event are made of."""

    def __init__(
        self, event: DomainEvent, announcement: Announcement, booking: Booking | None
    ) -> None:
        self.event = event
        self.announcement = announcement
        self.booking = booking
        self.names: dict[uuid.UUID, str] = {}
        # Each recipient's language (User.locale): every text is rendered in its reader's.
        self.locales: dict[uuid.UUID, str] = {}

    def notice(
        self,
        user_id: uuid.UUID,
        kind: str,
        content: tuple[str, str],
        *,
        ics: bool = False,
        key: str | None = None,
    ) -> Notice:
        title, body = content
        link = (
            render.booking_link(self.booking)
            if self.booking is not None
            else render.meetup_link(self.announcement)
        )
        return Notice(
            user_id=user_id,
            kind=kind,
            dedupe_key=f"{self.event.id}:{user_id}:{key or kind}",
            title=title,
            body=body,
            link=link,
            announcement_id=self.announcement.id,
            booking_id=self.booking.id if self.booking is not None else None,
            event_id=self.event.id,
            attach_ics=ics,
        )

    def name(self, user_id: uuid.UUID, locale: str) -> str:
        return self.names.get(user_id) or words(locale)._("Someone")

    def locale(self, user_id: uuid.UUID) -> str:
        return self.locales.get(user_id, i18n.DEFAULT)

    async def load(self, tx: Tx, *user_ids: uuid.UUID) -> None:
        """The names and languages of these users."""
        rows = await tx.session.execute(
            select(col(User.id), col(User.name), col(User.locale)).where(
                col(User.id).in_(set(user_ids))
            )
        )
        for user_id, name, locale in rows.all():
            self.names[user_id] = name
            self.locales[user_id] = locale


def _uuids(values: Any) -> list[uuid.UUID]:
    out = []
    for value in values or []:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            log.warning("event_payload_bad_user_id", value=str(value)[:64])
    return out


def _booking_notices(c: _Context) -> list[Notice]:
    """The notices of a booking event (docs/api.md "Notifications" says who gets what)."""
    a, b, payload, kind = c.announcement, c.booking, c.event.payload, c.event.kind
    assert b is not None
    host, guest = a.author_id, b.guest_id
    to_host, to_guest = c.locale(host), c.locale(guest)
    if kind == EventKind.booking_requested:
        status = str(payload.get("status", "pending"))
        content = render.booking_requested(a, b, c.name(guest, to_host), status, locale=to_host)
        return [c.notice(host, kind, content)]
    if kind == EventKind.booking_approved:
        content = render.booking_approved(a, b, c.name(host, to_guest), locale=to_guest)
        return [c.notice(guest, kind, content, ics=True)]
    if kind == EventKind.booking_rejected:
        reason = payload.get("reason")
        content = render.booking_rejected(a, c.name(host, to_guest), reason, locale=to_guest)
        return [c.notice(guest, kind, content)]
    if kind == EventKind.booking_cancelled:
        by = str(payload.get("by", "guest"))
        reader = host if by == "guest" else guest
        locale = c.locale(reader)
        content = render.booking_cancelled(a, b, by, c.name(guest, locale), locale=locale)
        return [c.notice(reader, kind, content)]
    if kind == EventKind.booking_expired:
        return [c.notice(guest, kind, render.booking_expired(a, locale=to_guest))]
    if kind == EventKind.waitlist_promoted:
        status = str(payload.get("status", "pending"))
        notices = [
            c.notice(
                guest,
                kind,
                render.waitlist_promoted_guest(a, b, status, locale=to_guest),
                ics=status == "approved",
            )
        ]
        if status == "pending":
            content = render.waitlist_promoted_host(a, b, c.name(guest, to_host), locale=to_host)
            notices.append(c.notice(host, kind, content))
        return notices
    log.warning("event_kind_unknown", event_id=str(c.event.id), kind=kind)
    return []


def _recipients(a: Announcement, cursor: uuid.UUID | None) -> Select[uuid.UUID, bool]:
    """The next batch of an announcement's audience past `cursor`, in user-id order: the host's
    followers (`via_host`) and its catalog film's followers, each person once (`bool_or`: a
    follower of both is a host follower), never the host.

    Each side reads at most `BATCH_SIZE` entries of its index in user-id order (follow's
    (followee_id, follower_id), movie_follow's (movie_id, user_id)): the first `BATCH_SIZE`
    people of the union are among the first `BATCH_SIZE` of either side, so a batch costs
    O(batch) whatever the audience, and fewer than `BATCH_SIZE` rows mean both sides are done.
    """
    host_side: Select[uuid.UUID, bool] = select(
        col(Follow.follower_id).label("user_id"), true().label("via_host")
    ).where(col(Follow.followee_id) == a.author_id)
    if cursor is not None:
        host_side = host_side.where(col(Follow.follower_id) > cursor)
    sides = [host_side.order_by(col(Follow.follower_id)).limit(BATCH_SIZE)]
    if a.movie_id is not None:
        film_side: Select[uuid.UUID, bool] = select(
            col(MovieFollow.user_id).label("user_id"), false().label("via_host")
        ).where(col(MovieFollow.movie_id) == a.movie_id, col(MovieFollow.user_id) != a.author_id)
        if cursor is not None:
            film_side = film_side.where(col(MovieFollow.user_id) > cursor)
        sides.append(film_side.order_by(col(MovieFollow.user_id)).limit(BATCH_SIZE))
    audience = union_all(*sides).subquery("audience")
    return (
        select(audience.c.user_id, func.bool_or(audience.c.via_host).label("via_host"))
        .group_by(audience.c.user_id)
        .order_by(audience.c.user_id)
        .limit(BATCH_SIZE)
    )


async def _announced_batch(tx: Tx, c: _Context) -> bool:
    """One batch of the announcement's fan-out (new_announcement to the host's followers,
    new_movie_meetup to the film's other followers); True when nobody is left."""
    a, event = c.announcement, c.event
    cursor = uuid.UUID(event.cursor) if event.cursor else None
    batch = (await tx.session.execute(_recipients(a, cursor))).all()
    if batch:
        locales = await locales_of(tx, [user_id for user_id, _ in batch])
        # One text per language and kind, not per recipient.
        contents: dict[tuple[str, bool], tuple[str, str]] = {}

        def content(locale: str, via_host: bool) -> tuple[str, str]:
            if (locale, via_host) not in contents:
                host = c.name(a.author_id, locale)
                contents[locale, via_host] = (
                    render.new_announcement(a, host, locale=locale)
                    if via_host
                    else render.new_movie_meetup(a, host, locale=locale)
                )
            return contents[locale, via_host]

        notices = [
            c.notice(
                user_id,
                NEW_ANNOUNCEMENT if via_host else NEW_MOVIE_MEETUP,
                content(locales.get(user_id, i18n.DEFAULT), via_host),
                key=ANNOUNCED,
            )
            for user_id, via_host in batch
        ]
        await deliver(tx, notices, announcement=a)
        event.cursor = str(batch[-1][0])
    return len(batch) < BATCH_SIZE


async def _handle(tx: Tx, event: DomainEvent) -> bool:
    """Deliver (a batch of) the event's notices; True when the event is fully processed."""
    session = tx.session
    announcement = (
        await session.get(Announcement, event.announcement_id) if event.announcement_id else None
    )
    booking = await session.get(Booking, event.booking_id) if event.booking_id else None
    if announcement is None:
        log.info("event_without_announcement", event_id=str(event.id), kind=event.kind)
        return True
    c = _Context(event, announcement, booking)
    kind, payload = event.kind, event.payload

    if kind == EventKind.announcement_created:
        if event.cursor is None:
            schedule_reminders(tx, announcement)
        if announcement.cancelled_at is not None:
            return True  # cancelled before its fan-out finished: stop telling people about it
        await c.load(tx, announcement.author_id)
        return await _announced_batch(tx, c)

    if kind == EventKind.announcement_updated:
        changed = payload.get("changed") or {}
        if "event_time" in changed:
            schedule_reminders(tx, announcement)  # new ids; the old jobs find the time moved
        guests = _uuids(payload.get("guest_ids"))
        locales = await locales_of(tx, guests)
        by_locale = {
            locale: render.announcement_updated(announcement, changed, locale=locale)
            for locale in {locales.get(g, i18n.DEFAULT) for g in guests}
        }
        notices = [
            c.notice(g, kind, by_locale[locales.get(g, i18n.DEFAULT)], ics=True) for g in guests
        ]
        await deliver(tx, notices, announcement=announcement)
        return True

    if kind == EventKind.announcement_cancelled:
        guests = _uuids(payload.get("guest_ids"))
        await c.load(tx, announcement.author_id, *guests)
        notices = [
            c.notice(
                g,
                kind,
                render.announcement_cancelled(
                    announcement,
                    c.name(announcement.author_id, c.locale(g)),
                    payload.get("reason"),
                    locale=c.locale(g),
                ),
            )
            for g in guests
        ]
        await deliver(tx, notices, announcement=announcement)
        return True

    if booking is None:
        log.info("event_without_booking", event_id=str(event.id), kind=kind)
        return True
    await c.load(tx, announcement.author_id, booking.guest_id)
    await deliver(tx, _booking_notices(c), announcement=announcement)
    return True


async def _record_failure(db: Database, event_id: uuid.UUID, exc: BaseException) -> None:
    try:
        async with db.sessionmaker() as session, session.begin():
            await session.execute(
                update(DomainEvent)
                .where(col(DomainEvent.id) == event_id)
                .values(
                    attempts=col(DomainEvent.attempts) + 1,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
    except Exception:
        log.warning("event_failure_not_recorded", event_id=str(event_id), exc_info=True)


async def process_event(ctx: dict[str, Any], event_id: str) -> str:
    """Turn one outbox event into notifications (and emails). Idempotent; safe with two workers."""
    db: Database = ctx["db"]
    redis = ctx.get("redis")
    the_id = uuid.UUID(event_id)
    started = time.monotonic()
    batches = 0
    try:
        while True:
            async with db.sessionmaker() as session:
                tx = Tx(session, redis=redis)
                async with session.begin():
                    event = await session.get(
                        DomainEvent,
                        the_id,
                        with_for_update={"skip_locked": True},
                        populate_existing=True,
                    )
                    if event is None:
                        return "skipped"  # unknown, or another worker holds it right now
                    if event.processed_at is not None:
                        return "already_processed"
                    done = await _handle(tx, event)
                    if done:
                        event.processed_at = clock.now()
                    cursor = event.cursor
                await tx.run_after_commit()
            batches += 1
            if done:
                log.info("event_processed", event_id=event_id, kind=event.kind, batches=batches)
                return "processed"
            if time.monotonic() - started >= TIME_BUDGET_S and redis is not None:
                # Hand over: other jobs get a turn. If this enqueue is lost, the sweep resumes.
                await redis.enqueue_job(
                    PROCESS_EVENT_JOB, event_id, _job_id=f"event:{event_id}:after:{cursor}"
                )
                log.info("event_continues", event_id=event_id, cursor=cursor, batches=batches)
                return "continued"
    except Exception as exc:
        log.warning("event_failed", event_id=event_id, error=repr(exc)[:500])
        await _record_failure(db, the_id, exc)
        raise
