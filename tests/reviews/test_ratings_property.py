"""The stored rating aggregates always equal a fresh recomputation over the visible reviews,
whatever sequence of creations, hides, unhides and deletions (some of them racing) came before."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.core.db import Database
from tests.reviews.helpers import (
    Meetup,
    MeetupFactory,
    post_review,
    reset_reviews,
    stored_and_recomputed_ratings,
)
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory

# (meetup, author, target): "one" is hosted by H with guests A, B, C; "two" by A with guests H, B.
# The last three are not allowed (guest to guest, a stranger's meetup, oneself): always 403.
PAIRS = [
    ("one", "H", "A"),
    ("one", "H", "B"),
    ("one", "H", "C"),
    ("one", "A", "H"),
    ("one", "B", "H"),
    ("one", "C", "H"),
    ("two", "A", "H"),
    ("two", "A", "B"),
    ("two", "H", "A"),
    ("two", "B", "A"),
    ("one", "A", "B"),
    ("two", "C", "A"),
    ("two", "A", "A"),
]
ALLOWED = len(PAIRS) - 3
# Moderation steps are drawn relative to the review's state, so that sequences really alternate:
# "toggle" hides a visible review and unhides a hidden one, "repeat" asks for the state it is
# already in (an idempotent no-op), "delete" is its author deleting it. Deleted reviews stay
# addressable (then 404).
STEPS = ("toggle", "toggle", "repeat", "delete")

create_op = st.tuples(
    st.just("create"), st.integers(0, len(PAIRS) - 1), st.integers(1, 5), st.none()
)
change_op = st.tuples(st.sampled_from(STEPS), st.integers(0, 15), st.none(), st.none())
# Two steps on one review sent at the same time.
race_op = st.tuples(
    st.just("race"), st.integers(0, 15), st.sampled_from(STEPS), st.sampled_from(STEPS)
)
operations = st.lists(st.one_of(create_op, change_op, change_op, race_op), max_size=30)
# Reviews written before the operations start: allowed pair index -> score.
first_reviews = st.dictionaries(
    st.integers(0, ALLOWED - 1), st.integers(1, 5), min_size=2, max_size=ALLOWED
)


@dataclass
class World:
    people: dict[str, TestUser]
    meetups: dict[str, Meetup]
    moderator: TestUser


@dataclass
class ModelReview:
    meetup: str
    author: str
    target: str
    role: str
    score: int
    hidden: bool = False


@pytest.fixture
async def world(users: UserFactory, meetups: MeetupFactory, clock: TestClock) -> World:
    people = {name: await users.create(name=name) for name in ("H", "A", "B", "C")}
    one = await meetups.create(people["H"], approved=[people["A"], people["B"], people["C"]])
    two = await meetups.create(people["A"], approved=[people["H"], people["B"]])
    return World(people=people, meetups={"one": one, "two": two}, moderator=await users.moderator())


def _action(model: dict[str, ModelReview], review_id: str, step: str) -> str:
    hidden = review_id in model and model[review_id].hidden
    if step == "toggle":
        return "unhide" if hidden else "hide"
    if step == "repeat":
        return "hide" if hidden else "unhide"
    return "delete"


async def _send(
    client: httpx.AsyncClient, world: World, author: str, review_id: str, action: str
) -> httpx.Response:
    url = f"/api/v1/reviews/{review_id}"
    if action == "delete":
        return await client.delete(url, headers=world.people[author].headers)
    return await client.post(f"{url}/{action}", headers=world.moderator.headers)


async def _resync(db: Database, model: dict[str, ModelReview], review_id: str) -> None:
    """After a race the order is the database's choice: read back what happened."""
    async with db.engine.connect() as conn:
        hidden = await conn.scalar(
            text("SELECT hidden FROM review WHERE id = :id"), {"id": review_id}
        )
    if hidden is None:
        model.pop(review_id, None)
    else:
        model[review_id].hidden = hidden


def _expected_ratings(
    world: World, model: dict[str, ModelReview]
) -> dict[tuple[str, str], tuple[int, int]]:
    expected: dict[tuple[str, str], tuple[int, int]] = {}
    for review in model.values():
        if review.hidden:
            continue
        key = (str(world.people[review.target].id), review.role)
        total, count = expected.get(key, (0, 0))
        expected[key] = (total + review.score, count + 1)
    return expected


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=first_reviews, ops=operations)
async def test_stored_ratings_equal_a_recomputation_after_any_operations(
    client: httpx.AsyncClient,
    db: Database,
    world: World,
    first: dict[int, int],
    ops: list[tuple[Any, ...]],
) -> None:
    await reset_reviews(db)
    model: dict[str, ModelReview] = {}
    created: list[str] = []  # every id ever created, deleted ones included (then 404)
    authors: dict[str, str] = {}

    for kind, arg, extra, other in [("create", i, score, None) for i, score in first.items()] + ops:
        if kind == "create":
            meetup_key, author, target = PAIRS[arg]
            meetup = world.meetups[meetup_key]
            response = await post_review(
                client, meetup, world.people[author], world.people[target], score=extra
            )
            duplicate = any((r.meetup, r.author, r.target) == PAIRS[arg] for r in model.values())
            if arg >= ALLOWED:
                assert response.status_code == 403
            elif duplicate:
                assert response.status_code == 409
            else:
                assert response.status_code == 201
                role = "host" if target == ("H" if meetup_key == "one" else "A") else "guest"
                assert response.json()["target_role"] == role
                review_id = response.json()["id"]
                model[review_id] = ModelReview(meetup_key, author, target, role, extra)
                created.append(review_id)
                authors[review_id] = author
            continue
        if not created:
            continue
        review_id = created[arg % len(created)]
        author = authors[review_id]
        if kind == "race":
            first_action, second_action = (
                _action(model, review_id, extra),
                _action(model, review_id, other),
            )
            responses = await asyncio.gather(
                _send(client, world, author, review_id, first_action),
                _send(client, world, author, review_id, second_action),
            )
            statuses = sorted(r.status_code for r in responses)
            if review_id not in model:
                assert statuses == [404, 404]
            elif first_action == second_action == "delete":
                assert statuses == [204, 404]
            elif first_action == second_action:
                assert statuses == [200, 200]
            else:
                assert set(statuses) <= {200, 204, 404}
            await _resync(db, model, review_id)
            continue
        action = _action(model, review_id, kind)
        response = await _send(client, world, author, review_id, action)
        if review_id not in model:
            assert response.status_code == 404
        elif action == "delete":
            assert response.status_code == 204
            del model[review_id]
        else:
            assert response.status_code == 200
            model[review_id].hidden = action == "hide"
            assert response.json()["hidden"] is model[review_id].hidden

    stored, recomputed = await stored_and_recomputed_ratings(db)
    assert stored == recomputed == _expected_ratings(world, model)
    for meetup_key, meetup in world.meetups.items():
        listed = (await client.get(meetup.reviews_url, params={"limit": 100})).json()
        visible = {i for i, r in model.items() if r.meetup == meetup_key and not r.hidden}
        assert {item["id"] for item in listed["items"]} == visible
