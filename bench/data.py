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


def today() -> str:
    return datetime.now(UTC).date().isoformat()
