"""Listing the reviews of a meetup and the reviews a user received."""

from __future__ import annotations

import uuid

import httpx

from tests.reviews.helpers import MeetupFactory, post_review
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def test_meetup_reviews_are_listed_newest_first_and_paginated(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, clock: TestClock
) -> None:
    host = await users.create()
    guests = [await users.create() for _ in range(3)]
    meetup = await meetups.create(host, approved=guests)
    ids = []
    for guest in guests:
        clock.advance(minutes=1)
        ids.append((await post_review(client, meetup, guest, host)).json()["id"])

    first = (await client.get(meetup.reviews_url, params={"limit": 2})).json()
    rest = (await client.get(meetup.reviews_url, params={"limit": 2, "offset": 2})).json()

    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert [item["id"] for item in rest["items"]] == ids[:1]
    assert (await client.get(meetup.reviews_url, params={"limit": 101})).status_code == 422


async def test_meetup_without_reviews_lists_nothing_and_unknown_meetup_is_404(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    meetup = await meetups.create(await users.create())

    empty = await client.get(meetup.reviews_url)
    missing = await client.get(f"/api/v1/announcements/{uuid.uuid4()}/reviews")

    assert empty.json() == {
        "items": [],
        "total": 0,
        "total_is_estimate": False,
        "limit": 20,
        "offset": 0,
    }
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def test_user_reviews_filter_by_the_role_received(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    ann, bob, cyd = await users.create(), await users.create(), await users.create()
    hosted = await meetups.create(ann, approved=[bob])  # Ann hosts Bob
    visited = await meetups.create(cyd, approved=[ann])  # Ann is Cyd's guest
    as_host = (await post_review(client, hosted, bob, ann, score=5)).json()["id"]
    as_guest = (await post_review(client, visited, cyd, ann, score=3)).json()["id"]
    await post_review(client, hosted, ann, bob, score=4)  # written by Ann, not received
    url = f"/api/v1/users/{ann.id}/reviews"

    host_items = (await client.get(url, params={"as": "host"})).json()["items"]
    guest_items = (await client.get(url, params={"as": "guest"})).json()["items"]
    both = (await client.get(url)).json()

    assert [(item["id"], item["target_role"]) for item in host_items] == [(as_host, "host")]
    assert [(item["id"], item["target_role"]) for item in guest_items] == [(as_guest, "guest")]
    assert {item["id"] for item in both["items"]} == {as_host, as_guest}
    assert both["total"] == 2


async def test_user_reviews_of_unknown_user_is_404_and_bad_role_is_422(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()

    missing = await client.get(f"/api/v1/users/{uuid.uuid4()}/reviews")
    bad_role = await client.get(f"/api/v1/users/{ann.id}/reviews", params={"as": "moderator"})

    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert bad_role.status_code == 422


async def test_lists_refuse_an_invalid_token(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    meetup = await meetups.create(await users.create())
    bad = {"Authorization": "Bearer not-a-token"}

    assert (await client.get(meetup.reviews_url, headers=bad)).status_code == 401
    url = f"/api/v1/users/{meetup.host.id}/reviews"
    assert (await client.get(url, headers=bad)).status_code == 401
