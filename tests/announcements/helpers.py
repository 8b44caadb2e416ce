"""What the announcement tests read besides the API: outbox events and counters."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.events import DomainEvent
from app.models.users import User
from tests.support.factories import TestUser

API = "/api/v1/announcements"


async def events(db: Database, kind: str, announcement_id: str | uuid.UUID) -> list[DomainEvent]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(DomainEvent)
            .where(
                DomainEvent.kind == kind,
                DomainEvent.announcement_id == uuid.UUID(str(announcement_id)),
            )
            .order_by(DomainEvent.created_at)
        )
        return list(rows)


async def hosted_count(db: Database, user: TestUser) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(User.hosted_count).where(User.id == user.id)) or 0)


async def book(
    client: httpx.AsyncClient, guest: TestUser, announcement_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/{announcement_id}/bookings", headers=guest.headers, json=body
    )
    assert response.status_code == 201, response.text
    return response.json()


async def approve(client: httpx.AsyncClient, host: TestUser, booking_id: str) -> None:
    response = await client.post(f"/api/v1/bookings/{booking_id}/approve", headers=host.headers)
    assert response.status_code == 200, response.text
