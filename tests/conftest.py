"""Test harness: one real PostgreSQL and Redis per run (embedded, or TEST_DATABASE_URL /
TEST_REDIS_URL), the schema from the Alembic migrations, a clean database and Redis for every
test, an HTTP client on the app, a real SMTP server in-process, and a movable clock."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.core.embedded import EmbeddedRedis, EmbeddedServices, free_port

# Services are chosen before the app is imported: its settings are read from the environment.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="meetup-test-"))
_EMBEDDED = EmbeddedServices(
    data_dir=_DATA_DIR,
    postgres_port=free_port(),
    redis_port=free_port(),
    start_postgres="TEST_DATABASE_URL" not in os.environ,
    start_redis="TEST_REDIS_URL" not in os.environ,
)
SMTP_PORT = free_port()
os.environ.update(
    ENV="test",
    DATABASE_URL=os.environ.get("TEST_DATABASE_URL", _EMBEDDED.postgres.url),
    REDIS_URL=os.environ.get("TEST_REDIS_URL", _EMBEDDED.redis.url),
    SECRET_KEY="test-secret-key-0123456789abcdef0123456789abcdef",
    SMTP_HOST="127.0.0.1",
    SMTP_PORT=str(SMTP_PORT),
    SMTP_STARTTLS="false",
    PUBLIC_BASE_URL="http://meetup.test",
    LOG_FORMAT="console",
    LOG_LEVEL="INFO",
    # Long-lived tokens, so tests that move the clock by hours or weeks keep their sessions
    # (the expiry tests read these settings).
    ACCESS_TOKEN_MINUTES=str(60 * 24 * 60),
    REFRESH_TOKEN_DAYS="365",
    # Cheap argon2 parameters: the tests hash hundreds of passwords.
    PASSWORD_HASH_MEMORY_KIB="1024",
    PASSWORD_HASH_TIME_COST="1",
)

import httpx  # noqa: E402
from asgi_lifespan import LifespanManager  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.core.config import get_settings  # noqa: E402
from app.core.db import Database  # noqa: E402
from app.core.logging import configure_logging  # noqa: E402
from app.core.migrations import upgrade  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import metadata  # noqa: E402
from tests.support.clock import TestClock  # noqa: E402
from tests.support.smtp import Mailbox, SMTPSink  # noqa: E402

pytest_plugins = ["tests.support.factories", "tests.support.live", "tests.support.meetups"]

configure_logging("INFO", "console")


@pytest.fixture(scope="session", autouse=True)
def services() -> Iterator[EmbeddedServices]:
    _EMBEDDED.start()
    try:
        upgrade(get_settings().database_url or "")
        yield _EMBEDDED
    finally:
        _EMBEDDED.stop()
        shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SMTPSink]:
    sink = SMTPSink(port=SMTP_PORT)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mailbox(smtp_sink: SMTPSink) -> Mailbox:
    """The emails the test SMTP server received during this test."""
    smtp_sink.mailbox.clear()
    return smtp_sink.mailbox


@pytest.fixture(scope="session")
async def app(services: EmbeddedServices) -> AsyncIterator[FastAPI]:
    application = create_app(get_settings())
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
def db(app: FastAPI) -> Database:
    return app.state.db


@pytest.fixture(autouse=True)
async def clean_state(app: FastAPI) -> None:
    """Every test starts from empty tables and an empty Redis (real commits, so concurrency
    tests and the worker see each other's writes)."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await app.state.redis.flushdb()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def clock() -> Iterator[TestClock]:
    """Freezes the app clock at the current time; move it with `.advance()` / `.set()`."""
    controller = TestClock()
    yield controller
    controller.release()


@pytest.fixture
async def app_with_own_redis(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[FastAPI, EmbeddedRedis]]:
    """An app whose Redis this test may stop without disturbing the others."""
    redis = EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port())
    redis.start()
    application = create_app(get_settings().model_copy(update={"redis_url": redis.url}))
    try:
        async with LifespanManager(application):
            yield application, redis
    finally:
        redis.stop()
