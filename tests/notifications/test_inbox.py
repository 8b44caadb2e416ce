"""GET /notifications (unread filter, unread_count, newest first), marking one and all read."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.core import clock as app_clock
from app.models.notifications import Notification
from tests.notifications.helpers import inbox
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory


async def _notify(app: FastAPI, user: TestUser, n: int) -> list[uuid.UUID]:
    """`n` notifications for `user`, a minute apart, the last one newest."""
    ids = []
    async with app.state.db.sessionmaker() as session, session.begin():
        for i in range(n):
            notification = Notification(
                user_id=user.id,
                kind="new_announcement",
                title=f"Meetup {i}",
                body=f"Body {i}",
                link=f"http://meetup.test/s/code{i}",
                dedupe_key=f"test:{user.id}:{i}",
                created_at=app_clock.now() + timedelta(minutes=i),
            )
            session.add(notification)
            ids.append(notification.id)
    return ids


async def test_inbox_lists_newest_first_with_every_field_and_the_unread_count(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create()
    ids = await _notify(app, ann, 3)
    page = await inbox(client, ann)
    assert (page["total"], page["unread_count"], page["limit"], page["offset"]) == (3, 3, 20, 0)
    assert [item["id"] for item in page["items"]] == [str(i) for i in reversed(ids)]
    first = page["items"][0]
    assert set(first) == {
        "id",
        "kind",
        "title",
        "body",
        "link",
        "announcement_id",
        "booking_id",
        "created",
        "read_at",
    }
    assert first["title"] == "Meetup 2" and first["read_at"] is None
    assert first["created"].endswith(("+00:00", "Z"))


async def test_marking_one_read_moves_it_out_of_the_unread_filter(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create()
    ids = await _notify(app, ann, 3)
    response = await client.post(f"/api/v1/notifications/{ids[1]}/read", headers=ann.headers)
    assert response.status_code == 204
    again = await client.post(f"/api/v1/notifications/{ids[1]}/read", headers=ann.headers)
    assert again.status_code == 204  # idempotent

    unread = await inbox(client, ann, unread="true")
    assert [i["id"] for i in unread["items"]] == [str(ids[2]), str(ids[0])]
    assert unread["total"] == 2 and unread["unread_count"] == 2
    read = await inbox(client, ann, unread="false")
    assert [i["id"] for i in read["items"]] == [str(ids[1])]
    assert read["items"][0]["read_at"] is not None
    assert read["unread_count"] == 2
    assert (await inbox(client, ann))["total"] == 3


async def test_read_all_marks_only_the_callers_notifications(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory
) -> None:
    ann, bob = await users.create(), await users.create()
    await _notify(app, ann, 2)
    await _notify(app, bob, 2)
    response = await client.post("/api/v1/notifications/read-all", headers=ann.headers)
    assert response.status_code == 204
    assert (await inbox(client, ann))["unread_count"] == 0
    assert (await inbox(client, bob))["unread_count"] == 2


async def test_someone_elses_notification_is_not_found_and_stays_unread(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory
) -> None:
    ann, bob = await users.create(), await users.create()
    [bobs] = await _notify(app, bob, 1)
    response = await client.post(f"/api/v1/notifications/{bobs}/read", headers=ann.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    unknown = await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=ann.headers)
    assert unknown.status_code == 404
    assert (await inbox(client, bob))["unread_count"] == 1


async def test_inbox_pages(client: httpx.AsyncClient, app: FastAPI, users: UserFactory) -> None:
    ann = await users.create()
    ids = await _notify(app, ann, 5)
    page = await inbox(client, ann, limit=2, offset=2)
    assert [i["id"] for i in page["items"]] == [str(ids[2]), str(ids[1])]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/read-all"),
        ("POST", f"/api/v1/notifications/{uuid.uuid4()}/read"),
    ],
)
async def test_the_inbox_needs_a_signed_in_user(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
