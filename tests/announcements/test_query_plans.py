"""At 100 000 announcements the list queries the API runs still use indexes, not a table scan.

The rows go in with one INSERT ... SELECT generate_series; the statements are the ones the app
really sends (captured from the engine while calling the API), EXPLAINed with their parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, text

from app.core.db import Database
from tests.announcements.helpers import API
from tests.support.clock import TestClock
from tests.support.factories import UserFactory

ROWS = 100_000

# 20% in the past, 10% cancelled, one row in 10 000 mentions "zanzibar".
FILL = """
INSERT INTO announcement (
    id, author_id, movie_title, title, description, event_time, duration_minutes, ends_at,
    location, timezone, tickets_count, approved_seats, waitlist_count, likes_count, is_free,
    sub_only, approval, tags, cancelled_at, short_code, created_at, updated_at
)
SELECT
    gen_random_uuid(), :author_id, 'Film ' || (i % 500), 'Meetup ' || i,
    CASE WHEN i % 10000 = 0 THEN 'A zanzibar night' ELSE 'Cinema evening ' || (i % 1000) END,
    CAST(:now AS timestamptz) + (i - :past) * interval '1 minute', 120,
    CAST(:now AS timestamptz) + (i - :past + 120) * interval '1 minute',
    'Place ' || (i % 300), 'UTC', 4, i % 5, 0, i % 7, i % 3 = 0, false,
    CAST('manual' AS approval_mode), ARRAY['tag' || (i % 50)],
    CASE WHEN i % 10 = 1 THEN CAST(:now AS timestamptz) END, 'c' || i,
    CAST(:now AS timestamptz), CAST(:now AS timestamptz)
FROM generate_series(1, :rows) AS i
"""


@contextmanager
def captured_list_queries(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The page queries of GET /announcements (the ones joining the authors) sent meanwhile."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "JOIN user_account" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def _plan(db: Database, statement: str, parameters: Any) -> str:
    async with db.engine.connect() as conn:
        rows = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(row[0] for row in rows)


async def test_list_and_text_search_use_indexes_at_100k_announcements(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    host = await users.create()
    async with db.engine.begin() as conn:
        await conn.execute(
            text(FILL),
            {"author_id": host.id, "now": clock.now, "past": ROWS // 5, "rows": ROWS},
        )
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE announcement")
        await conn.exec_driver_sql("ANALYZE user_account")

    with captured_list_queries(db) as queries:
        default = await client.get(API)
        search = await client.get(API, params={"q": "zanzibar"})
    assert default.json()["total"] == 72_000  # upcoming and not cancelled
    assert search.json()["total"] == 8  # rows 30000..100000 step 10000
    (default_sql, default_params), (search_sql, search_params) = queries

    default_plan = await _plan(db, default_sql, default_params)
    assert "ix_announcement_upcoming" in default_plan, default_plan
    assert "Seq Scan on announcement" not in default_plan, default_plan

    search_plan = await _plan(db, search_sql, search_params)
    assert "ix_announcement_search" in search_plan, search_plan
    assert "Seq Scan on announcement" not in search_plan, search_plan
