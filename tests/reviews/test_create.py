"""Writing a review: who may review whom, the 30-day window, duplicates, validation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models.reviews import Review
from tests.reviews.helpers import MeetupFactory, post_review
from tests.support.clock import TestClock
from tests.support.factories import UserFactory


async def test_guest_reviews_host_after_the_meetup_ended(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, clock: TestClock
) -> None:
    host, guest = await users.create(name="Hana"), await users.create(name="Gus")
    meetup = await meetups.create(host, approved=[guest])

    response = await post_review(client, meetup, guest, host, score=4, comment="Great pick")

    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body.pop("id"))
    assert body == {
        "announcement_id": str(meetup.id),
        "author": {"id": str(guest.id), "name": "Gus"},
        "target": {"id": str(host.id), "name": "Hana"},
        "target_role": "host",
        "score": 4,
        "comment": "Great pick",
        "created": clock.now.isoformat().replace("+00:00", "Z"),
        "hidden": False,
    }


async def test_host_reviews_an_approved_guest_without_a_comment(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    response = await post_review(client, meetup, host, guest, score=3)

    assert response.status_code == 201
    assert response.json()["target_role"] == "guest"
    assert response.json()["comment"] is None


async def test_host_cannot_review_a_pending_or_cancelled_guest(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, pending, gone = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, pending=[pending], cancelled=[gone])

    for target in (pending, gone):
        response = await post_review(client, meetup, host, target)
        assert response.status_code == 403
        assert response.json()["code"] == "not_a_participant"


async def test_pending_guest_cannot_review_the_host(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, pending = await users.create(), await users.create()
    meetup = await meetups.create(host, pending=[pending])

    response = await post_review(client, meetup, pending, host)

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_participant"


async def test_guest_cannot_review_another_guest(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[ann, bob])

    response = await post_review(client, meetup, ann, bob)

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_participant"


async def test_stranger_cannot_review_host_or_guest(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest, stranger = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    for target in (host, guest):
        response = await post_review(client, meetup, stranger, target)
        assert response.status_code == 403
        assert response.json()["code"] == "not_a_participant"


async def test_host_cannot_review_a_stranger(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest, stranger = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    response = await post_review(client, meetup, host, stranger)

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_participant"


async def test_nobody_reviews_themselves(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    for who in (host, guest):
        response = await post_review(client, meetup, who, who)
        assert response.status_code == 403
        assert response.json()["code"] == "not_a_participant"


async def test_review_before_the_meetup_ends_is_too_early(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest], ends_at=clock.now + timedelta(hours=1))

    clock.set(meetup.ends_at - timedelta(seconds=1))  # the film is still running
    response = await post_review(client, meetup, guest, host)

    assert response.status_code == 409
    assert response.json()["code"] == "review_window_closed"


async def test_review_window_opens_at_the_end_and_closes_30_days_later(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, clock: TestClock
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[ann, bob], ends_at=clock.now + timedelta(hours=1))

    clock.set(meetup.ends_at)
    assert (await post_review(client, meetup, ann, host)).status_code == 201
    clock.set(meetup.ends_at + timedelta(days=30))
    assert (await post_review(client, meetup, host, ann)).status_code == 201
    clock.advance(seconds=1)
    too_late = await post_review(client, meetup, bob, host)

    assert too_late.status_code == 409
    assert too_late.json()["code"] == "review_window_closed"


async def test_cancelled_meetup_cannot_be_reviewed(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest], is_cancelled=True)

    response = await post_review(client, meetup, guest, host)

    assert response.status_code == 409
    assert response.json()["code"] == "review_window_closed"


async def test_not_a_participant_wins_over_a_closed_window(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, clock: TestClock
) -> None:
    host, guest, stranger = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest], ends_at=clock.now + timedelta(days=1))

    response = await post_review(client, meetup, stranger, host)

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_participant"


async def test_second_review_of_the_same_person_is_already_reviewed(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[ann, bob])
    assert (await post_review(client, meetup, host, ann, score=5)).status_code == 201

    again = await post_review(client, meetup, host, ann, score=1)

    assert again.status_code == 409
    assert again.json()["code"] == "already_reviewed"
    # Other pairs, and the other direction, are separate reviews.
    assert (await post_review(client, meetup, host, bob)).status_code == 201
    assert (await post_review(client, meetup, ann, host)).status_code == 201


async def test_window_closed_wins_over_already_reviewed(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])
    assert (await post_review(client, meetup, guest, host)).status_code == 201

    clock.set(meetup.ends_at + timedelta(days=31))
    response = await post_review(client, meetup, guest, host)

    assert response.status_code == 409
    assert response.json()["code"] == "review_window_closed"


async def test_two_identical_concurrent_reviews_create_one(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    responses = await asyncio.gather(
        post_review(client, meetup, guest, host, score=5),
        post_review(client, meetup, guest, host, score=5),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert [r.json()["code"] for r in responses if r.status_code == 409] == ["already_reviewed"]
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Review)) == 1
    profile = (await client.get(f"/api/v1/users/{host.id}")).json()
    assert profile["host_rating"] == {"average": 5.0, "count": 1}


async def test_score_must_be_between_1_and_5(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    for score in (0, 6):
        response = await post_review(client, meetup, guest, host, score=score)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
    assert (await post_review(client, meetup, guest, host, score=1)).status_code == 201


async def test_comment_may_have_2000_characters_but_not_2001(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])

    too_long = await post_review(client, meetup, guest, host, comment="x" * 2001)
    longest = await post_review(client, meetup, guest, host, comment="x" * 2000)

    assert too_long.status_code == 422
    assert longest.status_code == 201
    assert len(longest.json()["comment"]) == 2000


async def test_invalid_body_is_422_before_not_a_participant(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, stranger = await users.create(), await users.create()
    meetup = await meetups.create(host)

    response = await post_review(client, meetup, stranger, host, score=0)

    assert response.status_code == 422


async def test_unknown_announcement_is_404_even_with_an_invalid_body(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    url = f"/api/v1/announcements/{uuid.uuid4()}/reviews"

    response = await client.post(url, headers=ann.headers, json={"score": 0})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_anonymous_review_is_401_before_anything_else(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])
    body = {"target_user_id": str(host.id), "score": 5}

    for url in (meetup.reviews_url, f"/api/v1/announcements/{uuid.uuid4()}/reviews"):
        response = await client.post(url, json=body)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


async def test_idempotency_key_replays_the_first_review(
    client: httpx.AsyncClient, users: UserFactory, meetups: MeetupFactory, db: Database
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, approved=[guest])
    key = {"Idempotency-Key": "review-1"}

    first = await post_review(client, meetup, guest, host, score=4, headers=key)
    replay = await post_review(client, meetup, guest, host, score=4, headers=key)
    other_body = await post_review(client, meetup, guest, host, score=2, headers=key)

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Review)) == 1
