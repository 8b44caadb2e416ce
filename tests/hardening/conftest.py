"""Fixtures of the hardening tests: a client on an app whose Redis the test may stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from app.core.embedded import EmbeddedRedis

__all__ = ["OwnRedis", "own_redis"]


@dataclass
class OwnRedis:
    app: FastAPI
    redis: EmbeddedRedis
    client: httpx.AsyncClient


@pytest.fixture
async def own_redis(
    app_with_own_redis: tuple[FastAPI, EmbeddedRedis],
) -> AsyncIterator[OwnRedis]:
    """An HTTP client on an app with its own Redis (same PostgreSQL as every other test)."""
    application, redis = app_with_own_redis
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield OwnRedis(application, redis, http)
