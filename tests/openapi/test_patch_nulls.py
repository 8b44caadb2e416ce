"""One meaning of null on every PATCH route (docs/api.md, Conventions): null clears a field where
clearing is allowed (the schema shows it nullable) and is a 422 naming the fields anywhere else
(the schema shows them non-nullable); an omitted field keeps its value."""

from __future__ import annotations

import httpx
import pytest

from tests.support.factories import UserFactory
from tests.support.meetups import MakeAnnouncement


def _refused(response: httpx.Response, *fields: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"][0]["msg"] == f"Value error, cannot be null: {', '.join(fields)}"


@pytest.mark.parametrize("field", ["title", "genres", "description"])
async def test_movie_null_is_422_except_year_and_runtime_which_it_clears(
    client: httpx.AsyncClient, users: UserFactory, field: str
) -> None:
    moderator = await users.moderator()
    created = await client.post(
        "/api/v1/movies",
        headers=moderator.headers,
        json={"title": "Solaris", "year": 1972, "runtime_minutes": 167, "genres": ["Drama"]},
    )
    url = f"/api/v1/movies/{created.json()['id']}"
    _refused(await client.patch(url, headers=moderator.headers, json={field: None}), field)
    cleared = await client.patch(
        url, headers=moderator.headers, json={"year": None, "runtime_minutes": None}
    )
    assert cleared.status_code == 200
    body = cleared.json()
    assert (body["title"], body["year"], body["runtime_minutes"]) == ("Solaris", None, None)
    assert body["genres"] == ["drama"]


async def test_own_profile_refuses_null_and_keeps_what_is_omitted(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    user = await users.create(name="Ann")
    url = "/api/v1/users/me"
    _refused(await client.patch(url, headers=user.headers, json={"name": None}), "name")
    _refused(
        await client.patch(
            url, headers=user.headers, json={"bio": None, "email_notifications": None}
        ),
        "bio",
        "email_notifications",
    )
    changed = await client.patch(url, headers=user.headers, json={"bio": "Films."})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["bio"]) == ("Ann", "Films.")


async def test_admin_update_refuses_null(client: httpx.AsyncClient, users: UserFactory) -> None:
    admin, member = await users.admin(), await users.create()
    url = f"/api/v1/admin/users/{member.user.id}"
    _refused(await client.patch(url, headers=admin.headers, json={"role": None}), "role")
    _refused(await client.patch(url, headers=admin.headers, json={"is_active": None}), "is_active")
    assert (await client.patch(url, headers=admin.headers, json={})).status_code == 200


async def test_announcement_null_clears_price_or_movie_and_is_422_elsewhere(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host = await users.create()
    meetup = await make_announcement(host)
    url = f"/api/v1/announcements/{meetup.id}"
    _refused(await client.patch(url, headers=host.headers, json={"title": None}), "title")
    freed = await client.patch(url, headers=host.headers, json={"is_free": True, "price": None})
    assert freed.status_code == 200, freed.text
    assert freed.json()["price"] is None
