"""Announcements through the API, for the tests of every domain."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from app.core import clock
from tests.support.factories import TestUser


def announcement_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /announcements body: a free, manually approved meetup two days from now."""
    body: dict[str, Any] = {
        "title": "Stalker night",
        "description": "Tarkovsky on a big screen, tea afterwards.",
        "movie_title": "Stalker",
        "event_time": clock.now() + timedelta(days=2),
        "location": "12 Film Street, Moscow",
        "tickets_count": 4,
    }
    if "movie_id" in overrides:
        body.pop("movie_title")
    body.update(overrides)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}


async def create_announcement(
    client: httpx.AsyncClient, host: TestUser, **overrides: Any
) -> dict[str, Any]:
    """POST /announcements as `host` (defaults: `announcement_body`); the created meetup's JSON.

    `event_time` may be given as an aware datetime; `movie_id` replaces the default movie_title.
    """
    response = await client.post(
        "/api/v1/announcements", headers=host.headers, json=announcement_body(**overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()
