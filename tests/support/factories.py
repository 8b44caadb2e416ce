"""Factories for users, tokens and the other things tests need (a pytest plugin)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq.constants import default_queue_name
from arq.worker import create_worker
from fastapi import FastAPI

from app.core import clock, security
from app.core.config import get_settings
from app.core.redis import redis_settings
from app.models.auth import AuthSession
from app.models.users import Role, User
from app.sessions.schemas import TokenPair
from app.sessions.service import issue_pair
from app.worker import WorkerSettings

DEFAULT_PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass
class TestUser:
    __test__ = False

    user: User
    password: str
    tokens: TokenPair | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def headers(self) -> dict[str, str]:
        assert self.tokens is not None, "this user has no session"
        return {"Authorization": f"Bearer {self.tokens.access_token}"}


class UserFactory:
    """Creates accounts straight in the database, with a signed-in session by default."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def create(
        self,
        *,
        name: str | None = None,
        email: str | None = None,
        role: Role = Role.member,
        confirmed: bool = True,
        signed_in: bool = True,
        password: str = DEFAULT_PASSWORD,
    ) -> TestUser:
        n = next(_counter)
        user = User(
            email=email or f"user{n}@example.com",
            name=name or f"User {n}",
            role=role,
            is_confirmed=confirmed,
            password_hash=await security.hash_password(password),
        )
        async with self.app.state.db.sessionmaker() as session, session.begin():
            session.add(user)
            await session.flush()  # no ORM relationship orders the two inserts
            tokens = None
            if signed_in:
                auth_session = AuthSession(user_id=user.id, refresh_jti="", expires_at=clock.now())
                session.add(auth_session)
                await session.flush()
                tokens = issue_pair(user, auth_session)
        return TestUser(user=user, password=password, tokens=tokens)

    async def member(self, **kwargs: object) -> TestUser:
        return await self.create(**kwargs)  # type: ignore[arg-type]

    async def admin(self, **kwargs: object) -> TestUser:
        return await self.create(role=Role.admin, **kwargs)  # type: ignore[arg-type]

    async def moderator(self, **kwargs: object) -> TestUser:
        return await self.create(role=Role.moderator, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def users(app: FastAPI) -> UserFactory:
    return UserFactory(app)


async def run_worker_until_idle(app: FastAPI, functions: list[Any] | None = None) -> int:
    """Run a real arq worker (the production settings, `functions` if given) until no job is due
    and none is running; returns the jobs completed.

    (arq's own burst mode also waits for deferred jobs, such as a retry an hour away.)
    """
    worker = create_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(get_settings().redis_url or ""),
        poll_delay=0.01,
        handle_signals=False,
        cron_jobs=[],
        **({"functions": functions} if functions is not None else {}),
    )
    redis = app.state.redis
    task = asyncio.create_task(worker.async_run())
    idle_checks = 0
    try:
        while idle_checks < 3:
            await asyncio.sleep(0.03)
            if task.done():
                task.result()
            due = await redis.zcount(default_queue_name, "-inf", time.time() * 1000)
            running = any(not t.done() for t in worker.tasks.values())
            idle_checks = idle_checks + 1 if not due and not running else 0
    finally:
        await worker.close()
        task.cancel()
    return worker.jobs_complete


@pytest.fixture
def run_worker(app: FastAPI) -> Callable[[], Awaitable[int]]:
    """`run_worker_until_idle` for the test's app."""

    async def run() -> int:
        return await run_worker_until_idle(app)

    return run
