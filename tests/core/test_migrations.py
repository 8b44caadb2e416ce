"""The migrations go up and down cleanly on a fresh database."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

from app.core.config import get_settings
from app.core.migrations import downgrade, upgrade


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fresh_database(name: str) -> AsyncIterator[tuple[str, str]]:
    """An empty database beside the test one: (its SQLAlchemy URL, its plain asyncpg DSN)."""
    main_url = make_url(get_settings().database_url or "")
    admin_dsn = main_url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f"DROP DATABASE IF EXISTS {name}")
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    url = main_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url, make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin_dsn)
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.close()


async def test_upgrade_head_then_downgrade_base_then_upgrade_again() -> None:
    async with fresh_database("migration_roundtrip") as (url, plain):
        await asyncio.to_thread(upgrade, url)
        assert {"user_account", "email_message"} <= await _tables(plain)
        await asyncio.to_thread(downgrade, url, "base")
        assert await _tables(plain) == set()
        await asyncio.to_thread(upgrade, url)
        assert "user_account" in await _tables(plain)


async def test_two_migrations_at_once_take_turns() -> None:
    """Three replicas running `meetup migrate` at once on a fresh database (separate processes,
    as in production: Alembic's context is per process): all succeed, the schema is made once."""
    async with fresh_database("migration_race") as (url, plain):
        code = "import sys; from app.core.migrations import upgrade; upgrade(sys.argv[1])"
        processes = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", code, url) for _ in range(3)
        ]
        assert [await asyncio.wait_for(p.wait(), 120) for p in processes] == [0, 0, 0]
        assert {"user_account", "booking"} <= await _tables(plain)


async def test_the_migrations_make_the_schema_the_models_describe() -> None:
    """Alembic's autogenerate finds nothing to add, drop or change: a column, index or
    constraint added to a model without its migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.models import metadata

    async with fresh_database("migration_drift") as (url, _):
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                diff = await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                    )
                )
        finally:
            await engine.dispose()
    assert diff == []
