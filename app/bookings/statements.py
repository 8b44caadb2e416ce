"""The SQL of the booking hot paths: a seat request and a host's or guest's decision.

Each use case is two statements inside the request's transaction, on its one connection:

1. *facts*: the rows the rules need, read in one query (and, for a seat request, the guest's
   advisory lock; for a decision, the announcement's row lock);
2. *write*: one statement with data-modifying CTEs that re-checks what a concurrent transaction
   could have changed, moves the seat counters under the announcement's row lock, writes the
   booking and the outbox event, and returns what the response needs.

They are plain SQL on purpose: they are the hot path (SQLAlchemy caches their compiled form and
asyncpg their prepared statements), `make bench` replays exactly this SQL in pgbench, and a reader
sees in one place what the database is asked to do. The rules they apply are named where they
are decided (app/bookings/service.py, app/bookings/transitions.py).
"""

from __future__ import annotations

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from app.models.announcements import Announcement
from app.models.bookings import ACTIVE_STATUSES

# The statuses that hold (or wait for) seats, spelled for SQL.
_ACTIVE = "(" + ", ".join(f"'{status.value}'" for status in ACTIVE_STATUSES) + ")"

# A meetup is closed to bookings once cancelled or started: the rule's own SQL, on the alias `a`.
# (The hybrid's signature is its Python side's, `now: datetime`; its SQL side takes any SQL value.)
_CLOSED = f"({aliased(Announcement, name='a').is_closed_at(bindparam('now'))})"  # type: ignore[arg-type]

SEAT_REQUEST_FACTS: TextClause = text(
    f"""
    SELECT a.id, a.author_id, a.sub_only, {_CLOSED} AS closed,
           h.name AS host_name, h.host_rating_sum, h.host_rating_count,
           EXISTS (
               SELECT 1 FROM follow f
               WHERE f.follower_id = :guest_id AND f.followee_id = a.author_id
           ) AS follows_host,
           -- One guest's seat requests run one at a time (until this transaction ends), so two
           -- racing requests cannot both pass the overlap check of the write statement.
           pg_advisory_xact_lock(hashtextextended('booking-guest:' || CAST(:guest_id AS text), 0))
               IS NULL AS guest_locked
    FROM announcement a JOIN user_account h ON h.id = a.author_id
    WHERE a.id = :announcement_id
    """
)
"""The announcement, its host and whether the guest follows the host; takes the guest's lock."""

REQUEST_SEATS: TextClause = text(
    f"""
    WITH a AS (
        SELECT id, tickets_count, approved_seats, waitlist_count, approval, cancelled_at,
               event_time, ends_at, title, movie_title, location
        FROM announcement WHERE id = :announcement_id
        FOR UPDATE
    ), verdict AS (
        -- The 409s in the contract's order, then the seat decision, on the locked row.
        SELECT a.*, CASE
            WHEN {_CLOSED} THEN 'announcement_closed'
            WHEN EXISTS (
                SELECT 1 FROM booking b
                WHERE b.announcement_id = a.id AND b.guest_id = :guest_id
                  AND b.status IN {_ACTIVE}
            ) THEN 'already_booked'
            WHEN EXISTS (
                SELECT 1 FROM booking b
                WHERE b.guest_id = :guest_id AND b.status IN {_ACTIVE}
                  AND b.announcement_id <> a.id
                  AND b.event_time < a.ends_at AND b.ends_at > a.event_time
            ) THEN 'time_conflict'
            -- Seats fit, and nobody waiting is passed over: on a manual meetup with a queue,
            -- pending bookings keep their seats for it (service.promotion_budget).
            WHEN a.approved_seats + :seats <= a.tickets_count AND (
                a.approval = 'auto' OR a.waitlist_count = 0
                OR a.approved_seats + :seats + (
                    SELECT coalesce(sum(b.seats), 0) FROM booking b
                    WHERE b.announcement_id = a.id AND b.status = 'pending'
                ) <= a.tickets_count
            ) THEN
                CASE WHEN a.approval = 'auto' THEN 'approved' ELSE 'pending' END
            WHEN :join_waitlist THEN 'waitlisted'
            ELSE 'no_seats'
        END AS outcome
        FROM a
    ), counters AS (
        UPDATE announcement SET
            approved_seats = announcement.approved_seats
                + CASE WHEN v.outcome = 'approved' THEN :seats ELSE 0 END,
            waitlist_count = announcement.waitlist_count
                + CASE WHEN v.outcome = 'waitlisted' THEN 1 ELSE 0 END
        FROM verdict v
        WHERE announcement.id = v.id AND v.outcome IN ('approved', 'waitlisted')
    ), new_booking AS (
        INSERT INTO booking (id, created_at, updated_at, announcement_id, guest_id, seats, status,
                             message, event_time, ends_at, approved_at, short_code)
        SELECT :booking_id, :now, :now, v.id, :guest_id, :seats, CAST(v.outcome AS booking_status),
               :message, v.event_time, v.ends_at,
               CASE WHEN v.outcome = 'approved' THEN CAST(:now AS timestamptz) END, :short_code
        FROM verdict v WHERE v.outcome IN ('approved', 'pending', 'waitlisted')
        RETURNING id, status
    ), event AS (
        INSERT INTO domain_event (id, kind, announcement_id, booking_id, actor_id, payload,
                                  created_at, attempts)
        SELECT :event_id,
               CASE WHEN nb.status = 'approved' THEN 'booking_approved'
                    ELSE 'booking_requested' END,
               :announcement_id, nb.id, :guest_id,
               jsonb_build_object('status', CAST(nb.status AS text)), :now, 0
        FROM new_booking nb
    )
    SELECT v.outcome, v.tickets_count - v.approved_seats AS tickets_left,
           v.title, v.movie_title, v.event_time, v.location
    FROM verdict v
    """
)
"""Take the seats (or not) and write booking, counters and outbox event in one statement."""

DECISION_FACTS: TextClause = text(
    """
    SELECT b.id, b.status, b.seats, b.message, b.reason, b.created_at, b.guest_id,
           b.announcement_id,
           a.author_id, a.tickets_count, a.approved_seats, a.waitlist_count, a.approval,
           a.cancelled_at,
           a.event_time, a.title, a.movie_title, a.location,
           g.name AS guest_name, g.guest_rating_sum, g.guest_rating_count,
           h.name AS host_name, h.host_rating_sum, h.host_rating_count
    FROM booking b
    JOIN announcement a ON a.id = b.announcement_id
    JOIN user_account g ON g.id = b.guest_id
    JOIN user_account h ON h.id = a.author_id
    WHERE b.id = :booking_id
    FOR UPDATE OF a
    """
)
"""The booking, its announcement (row-locked: every change of its bookings is serialized there),
its guest and its host. The booking's own columns may be a snapshot older than the lock: the
transition below only applies if its status is still the one read here."""

MOVE_BOOKING: TextClause = text(
    """
    WITH moved AS (
        UPDATE booking SET
            status = CAST(:to_status AS booking_status),
            updated_at = :now,
            approved_at = CASE WHEN :to_status = 'approved' THEN :now ELSE approved_at END,
            reason = coalesce(:reason, reason)
        WHERE id = :booking_id AND status = CAST(:from_status AS booking_status)
        RETURNING id, announcement_id
    ), counters AS (
        UPDATE announcement SET
            approved_seats = announcement.approved_seats + :approved_delta,
            waitlist_count = announcement.waitlist_count + :waitlist_delta
        FROM moved m
        WHERE announcement.id = m.announcement_id
          AND (:approved_delta <> 0 OR :waitlist_delta <> 0)
        RETURNING announcement.approved_seats
    ), event AS (
        INSERT INTO domain_event (id, kind, announcement_id, booking_id, actor_id, payload,
                                  created_at, attempts)
        SELECT :event_id, :event_kind, m.announcement_id, m.id, :actor_id, :payload, :now, 0
        FROM moved m
        RETURNING id
    )
    SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM event) AS events
    """
).bindparams(bindparam("payload", type_=JSONB))
"""Move one booking from `from_status` to `to_status`, shift the counters, record the event."""

WAITLIST: TextClause = text(
    """
    SELECT id, seats,
           (SELECT coalesce(sum(p.seats), 0) FROM booking p
            WHERE p.announcement_id = :announcement_id AND p.status = 'pending') AS pending_seats
    FROM booking
    WHERE announcement_id = :announcement_id AND status = 'waitlisted'
    ORDER BY created_at, id
    FOR UPDATE
    """
)
"""The waitlist in its order, with the seats of pending bookings (the caller holds the
announcement's row lock)."""
