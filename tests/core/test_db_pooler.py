"""DATABASE_POOLER=pgbouncer: asyncpg safe behind a transaction pooler, and the app still works."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from app.core.config import Settings, get_settings
from app.core.db import Database, create_engine
from app.main import create_app
from tests.bookings.helpers import act, book, seat_state
from tests.support.factories import UserFactory
from tests.support.meetups import MakeAnnouncement


def _pgbouncer_settings() -> Settings:
    return get_settings().model_copy(update={"database_pooler": "pgbouncer"})


def test_pooler_defaults_to_none() -> None:
    assert Settings().database_pooler == "none"


def test_pooler_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    assert Settings().database_pooler == "pgbouncer"
    monkeypatch.setenv("DATABASE_POOLER", "pgpool")
    with pytest.raises(ValueError):
        Settings()


async def test_pgbouncer_engine_turns_the_statement_caches_off() -> None:
    settings = _pgbouncer_settings()
    engine = create_engine(settings.database_url or "", settings)
    try:
        async with engine.connect() as conn:
            # Run the same statement twice: with no cache, each run prepares anew under its own
            # name, which is what a transaction pooler needs.
            for _ in range(2):
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            raw = await conn.get_raw_connection()
            adapted = raw.dbapi_connection
            asyncpg_conn = adapted.driver_connection
            assert asyncpg_conn._stmt_cache.get_max_size() == 0
            assert adapted._prepared_statement_cache is None
            names = {adapted._prepared_statement_name_func() for _ in range(3)}
            assert len(names) == 3 and all(name.startswith("__asyncpg_") for name in names)
            prepared = (
                await conn.execute(
                    text("SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT 1'")
                )
            ).scalar_one()
            assert prepared == 0  # nothing left prepared on the server connection
    finally:
        await engine.dispose()


async def test_default_engine_keeps_the_caches() -> None:
    settings = get_settings()
    engine = create_engine(settings.database_url or "", settings)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            adapted = (await conn.get_raw_connection()).dbapi_connection
            assert adapted.driver_connection._stmt_cache.get_max_size() > 0
            assert adapted._prepared_statement_cache is not None
    finally:
        await engine.dispose()


@pytest.fixture
async def pgbouncer_client() -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    application = create_app(_pgbouncer_settings())
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, application


async def test_booking_round_trip_with_the_pgbouncer_setting(
    pgbouncer_client: tuple[httpx.AsyncClient, FastAPI],
    users: UserFactory,
    make_announcement: MakeAnnouncement,
) -> None:
    client, application = pgbouncer_client
    db: Database = application.state.db
    assert db.engine.dialect.name == "postgresql"
    host, guest = await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual", tickets_count=3)

    requested = await book(client, guest, meetup.id, seats=2)
    assert requested.status_code == 201, requested.text
    approved = await act(client, host, requested.json()["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    # The list endpoint runs custom_plans() (SET LOCAL), which is transaction-scoped.
    listed = await client.get("/api/v1/announcements")
    assert listed.status_code == 200
    assert await seat_state(db, meetup.id) == (3, 2, 2)
