"""Ratings on profiles, hiding and unhiding by moderators, deletion by the author."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import httpx

from app.core.db import Database
from tests.reviews.helpers import Meetup, MeetupFactory, post_review, stored_and_recomputed_ratings
from tests.support.factories import TestUser, UserFactory


@dataclass
class Rated:
    """A meetup whose guests Ann and Bob rated the host 5 and 2 (reviews `five` and `two`)."""

    meetup: Meetup
    ann: TestUser
    bob: TestUser
    five: str
    two: str


async def _rated_meetup(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> Rated:
    host, ann, bob = (
        await users.create(name="Host"),
        await users.create(name="Ann"),
        await users.create(name="Bob"),
    )
    meetup = await meetups.create(host, approved=[ann, bob])
    five = await post_review(client, meetup, ann, host, score=5)
    two = await post_review(client, meetup, bob, host, score=2)
    return Rated(meetup, ann, bob, five.json()["id"], two.json()["id"])


async def _ratings(client: httpx.AsyncClient, user: TestUser) -> tuple[dict, dict]:
    profile = (await client.get(f"/api/v1/users/{user.id}")).json()
    return profile["host_rating"], profile["guest_rating"]


async def _listed_ids(client: httpx.AsyncClient, url: str, viewer: TestUser | None = None) -> set:
    response = await client.get(url, headers=viewer.headers if viewer else None)
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


async def test_profile_shows_average_and_count_per_role(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)
    assert (await post_review(client, r.meetup, r.meetup.host, r.ann, score=4)).status_code == 201

    assert await _ratings(client, r.meetup.host) == (
        {"average": 3.5, "count": 2},
        {"average": None, "count": 0},
    )
    assert await _ratings(client, r.ann) == (
        {"average": None, "count": 0},
        {"average": 4.0, "count": 1},
    )


async def test_hidden_review_is_neither_listed_nor_counted_until_unhidden(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)
    moderator = await users.moderator()
    host_reviews = f"/api/v1/users/{r.meetup.host.id}/reviews"

    hidden = await client.post(f"/api/v1/reviews/{r.two}/hide", headers=moderator.headers)

    assert hidden.status_code == 200
    assert hidden.json()["hidden"] is True
    assert await _listed_ids(client, r.meetup.reviews_url) == {r.five}
    assert await _listed_ids(client, host_reviews) == {r.five}
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 5.0, "count": 1}

    shown = await client.post(f"/api/v1/reviews/{r.two}/unhide", headers=moderator.headers)

    assert shown.status_code == 200
    assert shown.json()["hidden"] is False
    assert await _listed_ids(client, r.meetup.reviews_url) == {r.five, r.two}
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 3.5, "count": 2}


async def test_moderators_and_admins_see_hidden_reviews_marked_hidden(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)
    moderator, admin = await users.moderator(), await users.admin()
    await client.post(f"/api/v1/reviews/{r.two}/hide", headers=admin.headers)

    for viewer in (moderator, admin):
        for url in (r.meetup.reviews_url, f"/api/v1/users/{r.meetup.host.id}/reviews"):
            body = (await client.get(url, headers=viewer.headers)).json()
            assert {item["id"]: item["hidden"] for item in body["items"]} == {
                r.five: False,
                r.two: True,
            }
            assert body["total"] == 2
    # Its author, like any member, no longer sees it.
    assert await _listed_ids(client, r.meetup.reviews_url, viewer=r.ann) == {r.five}


async def test_hide_and_unhide_are_idempotent(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)
    moderator = await users.moderator()

    for _ in range(2):
        response = await client.post(f"/api/v1/reviews/{r.two}/hide", headers=moderator.headers)
        assert (response.status_code, response.json()["hidden"]) == (200, True)
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 5.0, "count": 1}

    for _ in range(2):
        response = await client.post(f"/api/v1/reviews/{r.two}/unhide", headers=moderator.headers)
        assert (response.status_code, response.json()["hidden"]) == (200, False)
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 3.5, "count": 2}


async def test_concurrent_hides_of_one_review_count_it_out_once(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, db: Database
) -> None:
    r = await _rated_meetup(client, users, meetups)
    moderator = await users.moderator()
    url = f"/api/v1/reviews/{r.two}"

    responses = await asyncio.gather(
        *(client.post(f"{url}/hide", headers=moderator.headers) for _ in range(4))
    )

    assert [response.status_code for response in responses] == [200] * 4
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 5.0, "count": 1}
    stored, recomputed = await stored_and_recomputed_ratings(db)
    assert stored == recomputed


async def test_member_cannot_hide_or_unhide(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)

    for who in (r.ann, r.meetup.host):
        for action in ("hide", "unhide"):
            response = await client.post(f"/api/v1/reviews/{r.five}/{action}", headers=who.headers)
            assert response.status_code == 403
            assert response.json()["code"] == "forbidden"
    assert await _listed_ids(client, r.meetup.reviews_url) == {r.five, r.two}


async def test_anonymous_moderation_and_deletion_are_401(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)

    for response in (
        await client.post(f"/api/v1/reviews/{r.five}/hide"),
        await client.post(f"/api/v1/reviews/{r.five}/unhide"),
        await client.delete(f"/api/v1/reviews/{r.five}"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


async def test_unknown_review_is_404_for_hide_unhide_and_delete(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, member = await users.moderator(), await users.create()
    url = f"/api/v1/reviews/{uuid.uuid4()}"

    for who in (moderator, member):
        for response in (
            await client.post(f"{url}/hide", headers=who.headers),
            await client.post(f"{url}/unhide", headers=who.headers),
            await client.delete(url, headers=who.headers),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


async def test_author_deletes_a_review_and_it_leaves_the_rating(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)

    response = await client.delete(f"/api/v1/reviews/{r.two}", headers=r.bob.headers)

    assert response.status_code == 204
    assert await _listed_ids(client, r.meetup.reviews_url) == {r.five}
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 5.0, "count": 1}
    again = await client.delete(f"/api/v1/reviews/{r.two}", headers=r.bob.headers)
    assert again.status_code == 404
    # Having deleted it, the author may write it again while the window is open.
    assert (await post_review(client, r.meetup, r.bob, r.meetup.host, score=3)).status_code == 201


async def test_only_the_author_deletes_a_review(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)
    moderator, admin = await users.moderator(), await users.admin()

    for who in (r.meetup.host, moderator, admin):
        response = await client.delete(f"/api/v1/reviews/{r.five}", headers=who.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    assert r.five in await _listed_ids(client, r.meetup.reviews_url)
    assert (
        await client.delete(f"/api/v1/reviews/{r.five}", headers=r.ann.headers)
    ).status_code == 204


async def test_deleting_a_hidden_review_leaves_the_rating_unchanged(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    r = await _rated_meetup(client, users, meetups)
    moderator = await users.moderator()
    await client.post(f"/api/v1/reviews/{r.two}/hide", headers=moderator.headers)

    response = await client.delete(f"/api/v1/reviews/{r.two}", headers=r.bob.headers)

    assert response.status_code == 204
    assert (await _ratings(client, r.meetup.host))[0] == {"average": 5.0, "count": 1}
    listed = await client.get(r.meetup.reviews_url, headers=moderator.headers)
    assert [item["id"] for item in listed.json()["items"]] == [r.five]
