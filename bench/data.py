"""Benchmark data, written straight with SQL (fast) in the shapes the app writes.

Ids are deterministic UUIDs built from a kind and a number, so that a Lua script, the open-loop
generator and a pgbench script can all name "user 1234" or "announcement 77" without a lookup:
`00000000-KKKK-4000-8000-NNNNNNNNNNNN`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

USER, SESSION, HOST, ANNOUNCEMENT, BOOKING, EVENT = 1, 2, 3, 5, 6, 7
BOOKINGS_HOST = 1  # the host of every booking-scenario announcement (guests never host)


def uid(kind: int, n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-{kind:04x}-4000-8000-{n:012d}")


def sql_uid(kind: int, expr: str) -> str:
    """The SQL expression of `uid(kind, <expr>)`."""
    return f"('00000000-{kind:04x}-4000-8000-' || lpad(CAST({expr} AS text), 12, '0'))::uuid"


def lua_prefix(kind: int) -> str:
    return f"00000000-{kind:04x}-4000-8000-"


async def create_users(conn: asyncpg.Connection, *, guests: int, hosts: int, pw_hash: str) -> None:
    """Confirmed members (guests 1..guests, hosts 1..hosts), each guest with a live session."""
    for kind, count, label in ((USER, guests, "guest"), (HOST, hosts, "host")):
        await conn.execute(
            f"""
            INSERT INTO user_account (id, email, name, bio, password_hash, role, is_active,
                                      is_confirmed, email_notifications, created_at, updated_at)
            SELECT {sql_uid(kind, "n")}, '{label}' || n || '@bench.example.com',
                   initcap('{label} ') || n, '', $1, 'member', true, true, true, now(), now()
            FROM generate_series(1, $2::int) AS n
            """,
            pw_hash,
            count,
        )
    await conn.execute(
        f"""
        INSERT INTO auth_session (id, user_id, refresh_jti, created_at, expires_at)
        SELECT {sql_uid(SESSION, "n")}, {sql_uid(USER, "n")}, '', now(), now() + interval '1 day'
        FROM generate_series(1, $1::int) AS n
        """,
        guests,
    )


def mint_tokens(guests: int, path: Path) -> None:
    """One access token per guest, one per line (line n-1 = guest n), signed with SECRET_KEY."""
    from app.core import security

    with path.open("w") as out:
        for n in range(1, guests + 1):
            token, _ = security.issue_token(
                "access",
                user_id=uid(USER, n),
                session_id=uid(SESSION, n),
                lifetime=timedelta(hours=6),
            )
            out.write(token + "\n")


@dataclass
class Block:
    """A run of announcement numbers [first, first + count) on a day of their own, so that guests
    reused by a later block never have an overlapping booking (the time_conflict rule)."""

    first: int
    count: int
    day: int
    capacity: int


class Announcements:
    """Hands out announcement numbers and days, never twice."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.next_number = 1
        self.next_day = 3

    async def block(
        self, conn: asyncpg.Connection, count: int, capacity: int, *, approval: str = "auto"
    ) -> Block:
        block = Block(self.next_number, count, self.next_day, capacity)
        self.next_number += count
        self.next_day += 1
        # One minute each, a minute apart, all by the bookings host: no duplicate, no overlap.
        await conn.execute(
            f"""
            INSERT INTO announcement (id, author_id, movie_title, title, description, event_time,
                duration_minutes, ends_at, location, timezone, tickets_count, approved_seats,
                waitlist_count, likes_count, is_free, sub_only, approval, tags, short_code,
                created_at, updated_at)
            SELECT {sql_uid(ANNOUNCEMENT, "n")}, {sql_uid(HOST, str(BOOKINGS_HOST))}, 'Stalker',
                'Bench screening ' || n, 'A benchmark meetup.', t, 1, t + interval '1 minute',
                'Bench hall', 'UTC', $3::int, 0, 0, 0, true, false, $4::approval_mode, '{{}}',
                'b' || n, now(), now()
            FROM generate_series($1::int, $1::int + $2::int - 1) AS n,
                 LATERAL (SELECT $5::timestamptz + (n - $1::int) * interval '1 minute' AS t) AS s
            """,
            block.first,
            count,
            capacity,
            approval,
            self.start + timedelta(days=block.day),
        )
        return block


MOVIES = [
    "Stalker", "Solaris", "Mirror", "Andrei Rublev", "Persona", "The Seventh Seal", "Rashomon",
    "Seven Samurai", "Ikiru", "Tokyo Story", "Late Spring", "Vertigo", "Psycho", "Rear Window",
    "Casablanca", "Metropolis", "Nosferatu", "M", "Playtime", "Mon Oncle", "La Strada",
    "Amarcord", "Stromboli", "Breathless", "Contempt", "Alphaville", "Jules et Jim", "Le Samourai",
    "Army of Shadows", "Paris Texas", "Wings of Desire", "Fitzcarraldo", "Aguirre", "Ran",
    "Ugetsu", "Harakiri", "Kwaidan", "Woman in the Dunes", "Come and See", "Ivan's Childhood",
    "The Cranes Are Flying", "Ballad of a Soldier", "Brother", "Burnt by the Sun", "Leviathan",
    "Elena", "The Return", "Hard to Be a God", "Moscow Does Not Believe in Tears", "Kin-dza-dza",
]  # fmt: skip
PLACES = ["loft", "garden", "rooftop", "basement", "studio", "library", "cafe", "attic"]
CITIES = ["Moscow", "Berlin", "Lisbon", "Tbilisi", "Riga", "Prague", "Belgrade", "Yerevan"]


async def create_read_dataset(conn: asyncpg.Connection, *, count: int, hosts: int) -> None:
    """`count` upcoming announcements by hosts 2..hosts with varied text, for the list and search."""
    await conn.execute(
        f"""
        INSERT INTO announcement (id, author_id, movie_title, title, description, event_time,
            duration_minutes, ends_at, location, timezone, tickets_count, approved_seats,
            waitlist_count, likes_count, is_free, sub_only, approval, tags, short_code,
            created_at, updated_at)
        SELECT {sql_uid(ANNOUNCEMENT, "n")}, {sql_uid(HOST, "2 + n % ($2::int - 1)")},
            m, m || ' in the ' || p, 'We watch ' || m || ' in my ' || p || ' in ' || c
                || '. Tea, snacks and a talk afterwards; bring a friend.',
            t, 120, t + interval '2 hours', c || ', ' || p, 'Europe/Berlin', 2 + n % 19,
            (n % 7) % (2 + n % 19), 0, n % 13, n % 5 <> 0, n % 11 = 0,
            (CASE WHEN n % 2 = 0 THEN 'auto' ELSE 'manual' END)::approval_mode,
            ARRAY[lower(p), lower(c)], 'r' || n, now() - n * interval '1 second', now()
        FROM generate_series($1::int, $1::int + $3::int - 1) AS n,
            LATERAL (SELECT ($4::text[])[1 + n % cardinality($4::text[])] AS m,
                            ($5::text[])[1 + (n / 7) % cardinality($5::text[])] AS p,
                            ($6::text[])[1 + (n / 3) % cardinality($6::text[])] AS c,
                            now() + interval '1 day' + n * interval '50 seconds' AS t) AS s
        """,
        READ_FIRST,
        hosts,
        count,
        MOVIES,
        PLACES,
        CITIES,
    )


READ_FIRST = 10_000_000  # announcement numbers of the read dataset, apart from the blocks

# The booking-list dataset: numbers of its own, apart from the guests, hosts and announcements above.
LIST_HOST = 900_000  # a host (HOST kind) with LIST_MEETUPS meetups of LIST_GUESTS bookings each
LIST_GUEST_FIRST = 900_000_001  # its guests (USER kind); the first one's own list is measured too
LIST_FIRST = 20_000_000  # its announcements
LIST_SESSION = 900_000_000_000  # + 1: the host's session, + 2: the guest's
LIST_MEETUPS, LIST_GUESTS = 100, 100


@dataclass
class BookingLists:
    """Who asks for the booking lists: a host with `host_bookings` bookings on their meetups and a
    guest with `guest_bookings` of their own; each a live session and an access token."""

    host_token: str
    guest_token: str
    host_bookings: int
    guest_bookings: int


async def create_booking_lists(
    conn: asyncpg.Connection, *, start: datetime, pw_hash: str
) -> BookingLists:
    """LIST_MEETUPS meetups of one host, a year ahead and three hours apart (no booking scenario's
    meetup overlaps them), each booked by the same LIST_GUESTS guests of their own."""
    await conn.execute(
        f"""
        INSERT INTO user_account (id, email, name, bio, password_hash, role, is_active,
                                  is_confirmed, email_notifications, created_at, updated_at)
        SELECT CASE WHEN n = 0 THEN {sql_uid(HOST, str(LIST_HOST))}
                    ELSE {sql_uid(USER, f"{LIST_GUEST_FIRST - 1} + n")} END,
               'list' || n || '@bench.example.com', 'List member ' || n, '', $1, 'member',
               true, true, true, now(), now()
        FROM generate_series(0, $2::int) AS n
        """,
        pw_hash,
        LIST_GUESTS,
    )
    await conn.execute(
        f"""
        INSERT INTO auth_session (id, user_id, refresh_jti, created_at, expires_at)
        VALUES ({sql_uid(SESSION, str(LIST_SESSION + 1))}, {sql_uid(HOST, str(LIST_HOST))}, '',
                now(), now() + interval '1 day'),
               ({sql_uid(SESSION, str(LIST_SESSION + 2))}, {sql_uid(USER, str(LIST_GUEST_FIRST))},
                '', now(), now() + interval '1 day')
        """
    )
    await conn.execute(
        f"""
        INSERT INTO announcement (id, author_id, movie_title, title, description, event_time,
            duration_minutes, ends_at, location, timezone, tickets_count, approved_seats,
            waitlist_count, likes_count, is_free, sub_only, approval, tags, short_code,
            created_at, updated_at)
        SELECT {sql_uid(ANNOUNCEMENT, "n")}, {sql_uid(HOST, str(LIST_HOST))}, 'Solaris',
            'Regulars ' || n, 'A meetup with a long guest list.', t, 120, t + interval '2 hours',
            'List hall', 'UTC', $3::int, $3::int, 0, 0, true, false, 'auto', '{{}}', 'l' || n,
            now() - interval '30 days', now() - interval '30 days'
        FROM generate_series($1::int, $1::int + $2::int - 1) AS n,
             LATERAL (SELECT $4::timestamptz + (n - $1::int) * interval '3 hours' AS t) AS s
        """,
        LIST_FIRST,
        LIST_MEETUPS,
        LIST_GUESTS,
        start + timedelta(days=400),
    )
    await conn.execute(
        f"""
        INSERT INTO booking (id, announcement_id, guest_id, seats, status, event_time, ends_at,
            approved_at, short_code, created_at, updated_at)
        SELECT gen_random_uuid(), a.id, {sql_uid(USER, f"{LIST_GUEST_FIRST - 1} + g")}, 1,
            'approved', a.event_time, a.ends_at, c, 'l' || n || '-' || g, c, c
        FROM generate_series($1::int, $1::int + $2::int - 1) AS n
             JOIN announcement AS a ON a.id = {sql_uid(ANNOUNCEMENT, "n")}
             CROSS JOIN generate_series(1, $3::int) AS g,
             LATERAL (SELECT now() - interval '20 days'
                             + ((n - $1::int) * $3::int + g) * interval '1 second' AS c) AS t
        """,
        LIST_FIRST,
        LIST_MEETUPS,
        LIST_GUESTS,
    )
    from app.core import security

    tokens = [
        security.issue_token(
            "access", user_id=user, session_id=uid(SESSION, session), lifetime=timedelta(hours=6)
        )[0]
        for user, session in (
            (uid(HOST, LIST_HOST), LIST_SESSION + 1),
            (uid(USER, LIST_GUEST_FIRST), LIST_SESSION + 2),
        )
    ]
    return BookingLists(tokens[0], tokens[1], LIST_MEETUPS * LIST_GUESTS, LIST_MEETUPS)


def today() -> str:
    return datetime.now(UTC).date().isoformat()
