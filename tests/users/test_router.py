"""Profiles, the caller's settings, following, and admin account management."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.auth import AuthSession
from app.models.users import Follow, User
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def test_public_profile_shows_counts_and_empty_ratings(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create(name="Ann")
    response = await client.get(f"/api/v1/users/{ann.id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(ann.id),
        "name": "Ann",
        "bio": "",
        "host_rating": {"average": None, "count": 0},
        "guest_rating": {"average": None, "count": 0},
        "followers_count": 0,
        "following_count": 0,
        "friends_count": 0,
        "hosted_count": 0,
    }
    assert "email" not in response.text


async def test_unknown_profile_is_404_and_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"/api/v1/users/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert (await client.get("/api/v1/users/not-a-uuid")).status_code == 422


async def test_update_me_changes_only_given_fields(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create(name="Ann")
    response = await client.patch(
        "/api/v1/users/me",
        headers=ann.headers,
        json={"bio": "Tarkovsky fan", "email_notifications": False},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["bio"], body["email_notifications"]) == (
        "Ann",
        "Tarkovsky fan",
        False,
    )
    me = (await client.get("/api/v1/auth/me", headers=ann.headers)).json()
    assert me["bio"] == "Tarkovsky fan"


async def test_update_me_validates_and_needs_a_token(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    assert (await client.patch("/api/v1/users/me", json={"bio": "x"})).status_code == 401
    assert (
        await client.patch("/api/v1/users/me", headers=ann.headers, json={"name": ""})
    ).status_code == 422
    assert (
        await client.patch("/api/v1/users/me", headers=ann.headers, json={"role": "admin"})
    ).status_code == 422


async def test_follow_is_idempotent_and_moves_counts_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann, bob = await users.create(), await users.create()
    for _ in range(2):
        response = await client.put(f"/api/v1/users/{bob.id}/follow", headers=ann.headers)
        assert response.status_code == 204
    assert (await client.get(f"/api/v1/users/{bob.id}")).json()["followers_count"] == 1
    assert (await client.get(f"/api/v1/users/{ann.id}")).json()["following_count"] == 1
    followers = (await client.get(f"/api/v1/users/{bob.id}/followers")).json()
    assert followers["total"] == 1
    assert followers["items"][0]["id"] == str(ann.id)
    following = (await client.get(f"/api/v1/users/{ann.id}/following")).json()
    assert [item["id"] for item in following["items"]] == [str(bob.id)]

    for _ in range(2):
        response = await client.delete(f"/api/v1/users/{bob.id}/follow", headers=ann.headers)
        assert response.status_code == 204
    assert (await client.get(f"/api/v1/users/{bob.id}")).json()["followers_count"] == 0
    assert (await client.get(f"/api/v1/users/{bob.id}/followers")).json()["total"] == 0


async def test_concurrent_follows_keep_counters_equal_to_rows(
    client: httpx.AsyncClient, users: UserFactory, db: Database
) -> None:
    host = await users.create()
    fans = [await users.create() for _ in range(8)]
    # Every fan sends the same PUT twice at once: one must insert, the other be a no-op.
    responses = await asyncio.gather(
        *(
            client.put(f"/api/v1/users/{host.id}/follow", headers=fan.headers)
            for fan in fans
            for _ in range(2)
        )
    )
    assert {r.status_code for r in responses} == {204}
    async with db.sessionmaker() as session:
        rows = await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.followee_id == host.id)
        )
        counter = await session.scalar(select(User.followers_count).where(User.id == host.id))
    assert rows == counter == 8


async def test_cannot_follow_self_or_unknown_user(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    own = await client.put(f"/api/v1/users/{ann.id}/follow", headers=ann.headers)
    assert own.status_code == 400
    assert own.json()["code"] == "cannot_follow_self"
    unknown = await client.put(f"/api/v1/users/{uuid.uuid4()}/follow", headers=ann.headers)
    assert unknown.status_code == 404
    assert (await client.put(f"/api/v1/users/{ann.id}/follow")).status_code == 401


async def test_follower_lists_paginate(client: httpx.AsyncClient, users: UserFactory) -> None:
    host = await users.create()
    for _ in range(3):
        fan = await users.create()
        await client.put(f"/api/v1/users/{host.id}/follow", headers=fan.headers)
    page = (await client.get(f"/api/v1/users/{host.id}/followers?limit=2&offset=2")).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 2, 1)
    assert (await client.get(f"/api/v1/users/{host.id}/followers?limit=101")).status_code == 422
    assert (await client.get(f"/api/v1/users/{host.id}/followers?offset=-1")).status_code == 422


async def test_admin_changes_role_and_member_cannot(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin, ann, bob = await users.admin(), await users.create(), await users.create()
    refused = await client.patch(
        f"/api/v1/admin/users/{bob.id}", headers=ann.headers, json={"role": "admin"}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    response = await client.patch(
        f"/api/v1/admin/users/{bob.id}", headers=admin.headers, json={"role": "moderator"}
    )
    assert response.status_code == 200
    assert response.json()["role"] == "moderator"
    assert (await client.get("/api/v1/auth/me", headers=bob.headers)).json()["role"] == "moderator"


async def test_deactivated_user_is_signed_out_at_once_and_cannot_log_in(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin, ann = await users.admin(), await users.create()
    response = await client.patch(
        f"/api/v1/admin/users/{ann.id}", headers=admin.headers, json={"is_active": False}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert (await client.get("/api/v1/auth/me", headers=ann.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": ann.email, "password": ann.password}
    )
    assert login.status_code == 403
    assert login.json()["code"] == "account_disabled"
    assert (await client.get(f"/api/v1/users/{ann.id}")).status_code == 404


async def test_admin_update_of_unknown_user_is_404_and_anonymous_is_401(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    path = f"/api/v1/admin/users/{uuid.uuid4()}"
    assert (
        await client.patch(path, headers=admin.headers, json={"role": "admin"})
    ).status_code == 404
    assert (await client.patch(path, json={"role": "admin"})).status_code == 401


async def test_create_admin_command_creates_then_promotes(
    db: Database, client: httpx.AsyncClient
) -> None:
    from app.users.service import create_admin

    async with db.sessionmaker() as session, session.begin():
        created = await create_admin(
            session, email="root@example.com", password="admin-password", name="Root"
        )
    async with db.sessionmaker() as session, session.begin():
        again = await create_admin(
            session, email="ROOT@example.com", password="new-admin-password", name="Root"
        )
    assert again.id == created.id
    login = await client.post(
        "/api/v1/auth/login", json={"email": "root@example.com", "password": "new-admin-password"}
    )
    assert login.status_code == 200
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["role"] == "admin"


async def test_deactivation_ends_every_session_and_reactivation_revives_none(
    client: httpx.AsyncClient, users: UserFactory, db: Database, clock: TestClock
) -> None:
    admin, ann = await users.admin(), await users.create()
    assert ann.tokens is not None
    login_pair = (
        await client.post("/api/v1/auth/login", json={"email": ann.email, "password": ann.password})
    ).json()
    pairs = [
        (ann.tokens.access_token, ann.tokens.refresh_token),
        (login_pair["access_token"], login_pair["refresh_token"]),
    ]
    clock.advance(seconds=2)

    async def old_tokens_refused() -> None:
        for access, refresh in pairs:
            me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
            assert me.status_code == 401
            renewed = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
            assert renewed.status_code == 401

    path = f"/api/v1/admin/users/{ann.id}"
    off = await client.patch(path, headers=admin.headers, json={"is_active": False})
    assert off.status_code == 200
    await old_tokens_refused()
    async with db.sessionmaker() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(AuthSession)
            .where(AuthSession.user_id == ann.id, AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
        )
        cutoff = await session.scalar(select(User.tokens_valid_after).where(User.id == ann.id))
    assert live == 0  # every session ended, not just hidden behind is_active
    assert cutoff == clock.now  # and tokens issued before now no longer count

    clock.advance(seconds=2)
    on = await client.patch(path, headers=admin.headers, json={"is_active": True})
    assert on.status_code == 200 and on.json()["is_active"] is True
    await old_tokens_refused()

    fresh = await client.post(
        "/api/v1/auth/login", json={"email": ann.email, "password": ann.password}
    )
    assert fresh.status_code == 200
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"}
    )
    assert me.status_code == 200
