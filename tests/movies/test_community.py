"""What people do around a film: follow it, review it (1..10), like and moderate the reviews,
and what the film shows of it (rating, followers_count, upcoming_meetups_count, the sorts)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.announcements import create_announcement
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory

API = "/api/v1"


async def _movie(client: httpx.AsyncClient, moderator: TestUser, title: str) -> dict[str, Any]:
    response = await client.post(f"{API}/movies", headers=moderator.headers, json={"title": title})
    assert response.status_code == 201, response.text
    return response.json()


async def _read(client: httpx.AsyncClient, movie_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/movies/{movie_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _follow(client: httpx.AsyncClient, who: TestUser, movie_id: str) -> None:
    response = await client.put(f"{API}/movies/{movie_id}/follow", headers=who.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""


async def _unfollow(client: httpx.AsyncClient, who: TestUser, movie_id: str) -> None:
    response = await client.delete(f"{API}/movies/{movie_id}/follow", headers=who.headers)
    assert response.status_code == 204, response.text


async def _review(
    client: httpx.AsyncClient, who: TestUser, movie_id: str, score: int, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/movies/{movie_id}/reviews", headers=who.headers, json={"score": score, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _reviews(client: httpx.AsyncClient, movie_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/movies/{movie_id}/reviews", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _like(client: httpx.AsyncClient, who: TestUser, review_id: str) -> httpx.Response:
    return await client.put(f"{API}/movie-reviews/{review_id}/like", headers=who.headers)


async def _unlike(client: httpx.AsyncClient, who: TestUser, review_id: str) -> httpx.Response:
    return await client.delete(f"{API}/movie-reviews/{review_id}/like", headers=who.headers)


async def _moderate(
    client: httpx.AsyncClient, who: TestUser, review_id: str, action: str
) -> httpx.Response:
    return await client.post(f"{API}/movie-reviews/{review_id}/{action}", headers=who.headers)


async def _rating(client: httpx.AsyncClient, movie_id: str) -> dict[str, Any]:
    rating: dict[str, Any] = (await _read(client, movie_id))["rating"]
    return rating


async def _cancel(client: httpx.AsyncClient, host: TestUser, meetup_id: str) -> None:
    response = await client.post(f"{API}/announcements/{meetup_id}/cancel", headers=host.headers)
    assert response.status_code == 200, response.text


async def _sorted_titles(client: httpx.AsyncClient, sort: str | None = None) -> list[str]:
    params = {"sort": sort} if sort else {}
    response = await client.get(f"{API}/movies", params=params)
    assert response.status_code == 200, response.text
    return [movie["title"] for movie in response.json()["items"]]


# --- following a film --------------------------------------------------------------------------


async def test_following_a_film_is_idempotent_and_counts_each_follower_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann, bob = await users.moderator(), await users.create(), await users.create()
    movie = await _movie(client, moderator, "Stalker")

    await _follow(client, ann, movie["id"])
    await _follow(client, ann, movie["id"])
    assert (await _read(client, movie["id"]))["followers_count"] == 1
    await _follow(client, bob, movie["id"])
    assert (await _read(client, movie["id"]))["followers_count"] == 2

    await _unfollow(client, ann, movie["id"])
    await _unfollow(client, ann, movie["id"])
    assert (await _read(client, movie["id"]))["followers_count"] == 1
    await _unfollow(client, bob, movie["id"])
    assert (await _read(client, movie["id"]))["followers_count"] == 0
    # Unfollowing a film one never followed moves nothing either.
    await _unfollow(client, moderator, movie["id"])
    assert (await _read(client, movie["id"]))["followers_count"] == 0


async def test_following_an_unknown_film_is_404_and_anonymous_is_401(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    ann = await users.create()
    moderator = await users.moderator()
    movie = await _movie(client, moderator, "Mirror")
    for method in ("PUT", "DELETE"):
        missing = await client.request(
            method, f"{API}/movies/{uuid.uuid4()}/follow", headers=ann.headers
        )
        assert missing.status_code == 404, method
        assert missing.json()["code"] == "not_found"
        anonymous = await client.request(method, f"{API}/movies/{movie['id']}/follow")
        assert anonymous.status_code == 401, method
    assert (await client.get(f"{API}/users/me/movies")).status_code == 401
    assert (await _read(client, movie["id"]))["followers_count"] == 0


async def test_my_movies_lists_the_followed_films_latest_followed_first(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    moderator, ann, bob = await users.moderator(), await users.create(), await users.create()
    films = [await _movie(client, moderator, title) for title in ("Alpha", "Bravo", "Charlie")]
    await _movie(client, moderator, "Not followed")
    for film in (films[1], films[0], films[2]):
        await _follow(client, ann, film["id"])
        clock.advance(minutes=1)
    await _follow(client, bob, films[0]["id"])

    response = await client.get(f"{API}/users/me/movies", headers=ann.headers)
    assert response.status_code == 200
    body = response.json()
    assert [m["title"] for m in body["items"]] == ["Charlie", "Alpha", "Bravo"]
    assert (body["total"], body["limit"], body["offset"]) == (3, 20, 0)
    alpha = body["items"][1]
    assert alpha == await _read(client, films[0]["id"])
    assert alpha["followers_count"] == 2

    page = (
        await client.get(
            f"{API}/users/me/movies", headers=ann.headers, params={"limit": 1, "offset": 1}
        )
    ).json()
    assert [m["title"] for m in page["items"]] == ["Alpha"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)

    await _unfollow(client, ann, films[0]["id"])
    after = (await client.get(f"{API}/users/me/movies", headers=ann.headers)).json()
    assert [m["title"] for m in after["items"]] == ["Charlie", "Bravo"]
    assert after["total"] == 2
    theirs = (await client.get(f"{API}/users/me/movies", headers=bob.headers)).json()
    assert [m["title"] for m in theirs["items"]] == ["Alpha"]
    nobody = (await client.get(f"{API}/users/me/movies", headers=moderator.headers)).json()
    assert (nobody["items"], nobody["total"]) == ([], 0)


# --- upcoming meetups ----------------------------------------------------------------------------


async def test_upcoming_meetups_count_skips_cancelled_and_started_meetups(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    moderator, host = await users.moderator(), await users.create()
    movie = await _movie(client, moderator, "Solaris")
    other = await _movie(client, moderator, "Nostalghia")
    assert (await _read(client, movie["id"]))["upcoming_meetups_count"] == 0

    soon = clock.now + timedelta(days=1)
    later = clock.now + timedelta(days=5)
    await create_announcement(client, host, movie_id=movie["id"], event_time=soon)
    await create_announcement(client, host, movie_id=movie["id"], event_time=later)
    # (one host's meetups start at different times)
    cancelled = await create_announcement(
        client, host, movie_id=movie["id"], event_time=later + timedelta(hours=1)
    )
    await create_announcement(
        client, host, movie_id=other["id"], event_time=later + timedelta(hours=2)
    )
    await create_announcement(
        client, host, movie_title="Solaris", event_time=later + timedelta(hours=3)
    )
    assert (await _read(client, movie["id"]))["upcoming_meetups_count"] == 3

    await _cancel(client, host, cancelled["id"])
    assert (await _read(client, movie["id"]))["upcoming_meetups_count"] == 2
    assert (await _read(client, other["id"]))["upcoming_meetups_count"] == 1

    clock.advance(days=2)  # the first meetup has started
    assert (await _read(client, movie["id"]))["upcoming_meetups_count"] == 1
    listed = (await client.get(f"{API}/movies")).json()["items"]
    assert {m["title"]: m["upcoming_meetups_count"] for m in listed} == {
        "Solaris": 1,
        "Nostalghia": 1,
    }

    clock.advance(days=4)  # every meetup has started
    assert (await _read(client, movie["id"]))["upcoming_meetups_count"] == 0
    assert (await _read(client, other["id"]))["upcoming_meetups_count"] == 0


# --- sorts -----------------------------------------------------------------------------------------


async def test_sort_by_rating_best_average_first_then_count_then_title_unrated_last(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator = await users.moderator()
    critics = [await users.create() for _ in range(3)]
    scores = {
        "echo": [9],  # 9.0 from one review
        "Delta": [9, 9],  # 9.0 from two: before echo
        "charlie": [7, 8, 8],  # 7.67
        "Bravo": [],
        "alpha": [],
        "Foxtrot": [10, 1],  # 5.5
        "golf": [9],  # 9.0 from one, ties with echo on count: by title
    }
    for title, film_scores in scores.items():
        movie = await _movie(client, moderator, title)
        for critic, score in zip(critics, film_scores, strict=False):
            await _review(client, critic, movie["id"], score)

    assert await _sorted_titles(client, "-rating") == [
        "Delta",
        "echo",
        "golf",
        "charlie",
        "Foxtrot",
        "alpha",
        "Bravo",
    ]
    assert (
        await _sorted_titles(client, "title")
        == await _sorted_titles(client)
        == [
            "alpha",
            "Bravo",
            "charlie",
            "Delta",
            "echo",
            "Foxtrot",
            "golf",
        ]
    )
    ratings = {m["title"]: m["rating"] for m in (await client.get(f"{API}/movies")).json()["items"]}
    assert ratings["charlie"] == {"average": 7.67, "count": 3}
    assert ratings["Delta"] == {"average": 9.0, "count": 2}
    assert ratings["Foxtrot"] == {"average": 5.5, "count": 2}
    assert ratings["alpha"] == {"average": None, "count": 0}
    assert (await client.get(f"{API}/movies", params={"sort": "rating"})).status_code == 422


async def test_sort_by_upcoming_most_meetups_first_ties_by_title(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    moderator, host = await users.moderator(), await users.create()
    films = {
        title: await _movie(client, moderator, title)
        for title in ("Alpha", "bravo", "Charlie", "Delta")
    }
    later = clock.now + timedelta(days=5)
    soon = clock.now + timedelta(days=1)

    hours = iter(range(100))  # one host's meetups start at different times

    async def meetup(title: str, when: datetime) -> dict[str, Any]:
        when += timedelta(hours=next(hours))
        return await create_announcement(client, host, movie_id=films[title]["id"], event_time=when)

    # Alpha: none. bravo: one. Charlie: two, one of which starts soon. Delta: one, and two cancelled.
    await meetup("bravo", later)
    await meetup("Charlie", later)
    await meetup("Charlie", soon)
    await meetup("Delta", later)
    for _ in range(2):
        await _cancel(client, host, (await meetup("Delta", later))["id"])

    assert await _sorted_titles(client, "-upcoming") == ["Charlie", "bravo", "Delta", "Alpha"]
    clock.advance(days=2)  # Charlie's early meetup started: Charlie ties with bravo and Delta
    assert await _sorted_titles(client, "-upcoming") == ["bravo", "Charlie", "Delta", "Alpha"]
    listed = (await client.get(f"{API}/movies", params={"sort": "-upcoming"})).json()
    assert [m["upcoming_meetups_count"] for m in listed["items"]] == [1, 1, 1, 0]
    assert listed["total"] == 4


# --- reviews --------------------------------------------------------------------------------------


async def test_a_review_is_created_once_per_film_and_counts_in_the_rating(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann = await users.moderator(), await users.create(name="Ann")
    movie = await _movie(client, moderator, "Stalker")
    other = await _movie(client, moderator, "Mirror")

    review = await _review(client, ann, movie["id"], 8, text="The Zone.")
    assert review == {
        "id": review["id"],
        "movie_id": movie["id"],
        "author": {"id": str(ann.id), "name": "Ann"},
        "score": 8,
        "text": "The Zone.",
        "likes_count": 0,
        "hidden": False,
        "created": review["created"],
        "modified": review["modified"],
    }
    assert datetime.fromisoformat(review["created"]) == datetime.fromisoformat(review["modified"])
    assert (await _read(client, movie["id"]))["rating"] == {"average": 8.0, "count": 1}

    again = await client.post(
        f"{API}/movies/{movie['id']}/reviews", headers=ann.headers, json={"score": 3}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_reviewed"
    assert (await _read(client, movie["id"]))["rating"] == {"average": 8.0, "count": 1}
    assert (await _reviews(client, movie["id"]))["total"] == 1

    # Another film is another review; no text is null.
    second = await _review(client, ann, other["id"], 5)
    assert second["text"] is None
    assert (await _read(client, other["id"]))["rating"] == {"average": 5.0, "count": 1}

    missing = await client.post(
        f"{API}/movies/{uuid.uuid4()}/reviews", headers=ann.headers, json={"score": 5}
    )
    assert missing.status_code == 404
    anonymous = await client.post(f"{API}/movies/{movie['id']}/reviews", json={"score": 5})
    assert anonymous.status_code == 401
    assert (await client.get(f"{API}/movies/{uuid.uuid4()}/reviews")).status_code == 404


async def test_score_and_text_bounds_are_422(client: httpx.AsyncClient, users: UserFactory) -> None:
    moderator = await users.moderator()
    movie = await _movie(client, moderator, "Stalker")
    ann, bob, cid = await users.create(), await users.create(), await users.create()
    url = f"{API}/movies/{movie['id']}/reviews"
    for body in (
        {"score": 0},
        {"score": 11},
        {"score": -1},
        {"score": 5.5},
        {"score": None},
        {},
        {"score": 5, "text": "x" * 4001},
        {"score": 5, "extra": 1},
    ):
        response = await client.post(url, headers=ann.headers, json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error", body
    assert (await _read(client, movie["id"]))["rating"] == {"average": None, "count": 0}

    await _review(client, ann, movie["id"], 1)
    await _review(client, bob, movie["id"], 10, text="x" * 4000)
    await _review(client, cid, movie["id"], 4, text=None)
    assert (await _read(client, movie["id"]))["rating"] == {"average": 5.0, "count": 3}


async def test_only_the_author_changes_a_review_and_the_rating_follows(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    moderator, ann, bob = await users.moderator(), await users.create(), await users.create()
    movie = await _movie(client, moderator, "Stalker")
    review = await _review(client, ann, movie["id"], 4, text="Slow.")
    await _review(client, bob, movie["id"], 9)
    url = f"{API}/movie-reviews/{review['id']}"
    clock.advance(hours=1)

    changed = await client.patch(url, headers=ann.headers, json={"score": 7})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["score"], body["text"]) == (7, "Slow.")
    assert body["created"] == review["created"]
    assert datetime.fromisoformat(body["modified"]) > datetime.fromisoformat(review["modified"])
    assert await _rating(client, movie["id"]) == {"average": 8.0, "count": 2}

    cleared = await client.patch(url, headers=ann.headers, json={"text": None})
    assert cleared.status_code == 200
    assert (cleared.json()["score"], cleared.json()["text"]) == (7, None)
    texted = await client.patch(url, headers=ann.headers, json={"text": "Grows on you."})
    assert texted.json()["text"] == "Grows on you."

    null_score = await client.patch(url, headers=ann.headers, json={"score": None})
    assert null_score.status_code == 422
    assert null_score.json()["code"] == "validation_error"
    for bad in ({"score": 0}, {"score": 11}, {"text": "x" * 4001}):
        assert (await client.patch(url, headers=ann.headers, json=bad)).status_code == 422, bad

    for stranger in (bob, moderator):
        refused = await client.patch(url, headers=stranger.headers, json={"score": 1})
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    assert (await client.patch(url, json={"score": 1})).status_code == 401
    missing = await client.patch(
        f"{API}/movie-reviews/{uuid.uuid4()}", headers=ann.headers, json={"score": 1}
    )
    assert missing.status_code == 404

    listed = (await _reviews(client, movie["id"]))["items"]
    mine = next(r for r in listed if r["id"] == review["id"])
    assert (mine["score"], mine["text"]) == (7, "Grows on you.")
    assert await _rating(client, movie["id"]) == {"average": 8.0, "count": 2}


async def test_deleting_a_review_takes_it_out_of_the_rating(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann, bob = await users.moderator(), await users.create(), await users.create()
    movie = await _movie(client, moderator, "Stalker")
    review = await _review(client, ann, movie["id"], 3)
    await _review(client, bob, movie["id"], 8)
    url = f"{API}/movie-reviews/{review['id']}"

    for stranger in (bob, moderator):
        refused = await client.delete(url, headers=stranger.headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    assert (await client.delete(url)).status_code == 401
    assert await _rating(client, movie["id"]) == {"average": 5.5, "count": 2}

    deleted = await client.delete(url, headers=ann.headers)
    assert deleted.status_code == 204
    assert await _rating(client, movie["id"]) == {"average": 8.0, "count": 1}
    listed = await _reviews(client, movie["id"])
    assert [r["author"]["id"] for r in listed["items"]] == [str(bob.id)]
    assert listed["total"] == 1
    assert (await client.delete(url, headers=ann.headers)).status_code == 404
    assert (await client.patch(url, headers=ann.headers, json={"score": 2})).status_code == 404

    # Gone, so the author may review the film again.
    await _review(client, ann, movie["id"], 10)
    assert await _rating(client, movie["id"]) == {"average": 9.0, "count": 2}


# --- likes ------------------------------------------------------------------------------------------


async def test_likes_are_idempotent_and_never_ones_own(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann, bob, cid = (
        await users.moderator(),
        await users.create(),
        await users.create(),
        await users.create(),
    )
    movie = await _movie(client, moderator, "Stalker")
    review = await _review(client, ann, movie["id"], 9)

    async def likes() -> int:
        listed = (await _reviews(client, movie["id"]))["items"]
        return int(next(r for r in listed if r["id"] == review["id"])["likes_count"])

    for action in (_like, _unlike):
        own = await action(client, ann, review["id"])
        assert own.status_code == 400
        assert own.json()["code"] == "cannot_like_own"
    assert await likes() == 0

    for _ in range(2):
        response = await _like(client, bob, review["id"])
        assert response.status_code == 204
    assert await likes() == 1
    assert (await _like(client, cid, review["id"])).status_code == 204
    assert await likes() == 2

    for _ in range(2):
        assert (await _unlike(client, bob, review["id"])).status_code == 204
    assert await likes() == 1
    assert (await _unlike(client, moderator, review["id"])).status_code == 204  # never liked
    assert await likes() == 1
    assert (await _like(client, bob, review["id"])).status_code == 204
    assert await likes() == 2

    assert (await _like(client, bob, str(uuid.uuid4()))).status_code == 404
    assert (await _unlike(client, bob, str(uuid.uuid4()))).status_code == 404
    anonymous = await client.put(f"{API}/movie-reviews/{review['id']}/like")
    assert anonymous.status_code == 401
    # Likes are not the rating.
    assert await _rating(client, movie["id"]) == {"average": 9.0, "count": 1}


async def test_reviews_list_sorts_by_likes_or_by_newest(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    moderator = await users.moderator()
    fans = [await users.create() for _ in range(3)]
    movie = await _movie(client, moderator, "Stalker")
    authors = [await users.create(name=name) for name in ("Ann", "Bob", "Cid", "Dan")]
    reviews = {}
    for author in authors:
        reviews[author.user.name] = await _review(client, author, movie["id"], 7)
        clock.advance(minutes=5)
    wanted = {"Ann": 1, "Bob": 3, "Cid": 0, "Dan": 1}
    for name, count in wanted.items():
        for fan in fans[:count]:
            assert (await _like(client, fan, reviews[name]["id"])).status_code == 204

    def names(page: dict[str, Any]) -> list[str]:
        return [r["author"]["name"] for r in page["items"]]

    by_likes = await _reviews(client, movie["id"])  # -likes is the default
    assert names(by_likes) == ["Bob", "Dan", "Ann", "Cid"]  # Dan and Ann tie: newest first
    assert [r["likes_count"] for r in by_likes["items"]] == [3, 1, 1, 0]
    assert by_likes["total"] == 4
    assert await _reviews(client, movie["id"], sort="-likes") == by_likes
    assert names(await _reviews(client, movie["id"], sort="-created")) == [
        "Dan",
        "Cid",
        "Bob",
        "Ann",
    ]
    page = await _reviews(client, movie["id"], sort="-likes", limit=2, offset=1)
    assert names(page) == ["Dan", "Ann"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    bad = await client.get(f"{API}/movies/{movie['id']}/reviews", params={"sort": "likes"})
    assert bad.status_code == 422


# --- moderation -------------------------------------------------------------------------------------


async def test_moderators_hide_and_unhide_reviews_members_may_not(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, admin = await users.moderator(), await users.admin()
    ann, bob, cid = await users.create(), await users.create(), await users.create()
    movie = await _movie(client, moderator, "Stalker")
    review = await _review(client, ann, movie["id"], 2, text="Boring")
    kept = await _review(client, bob, movie["id"], 8)
    assert (await _like(client, cid, review["id"])).status_code == 204
    assert await _rating(client, movie["id"]) == {"average": 5.0, "count": 2}

    for action in ("hide", "unhide"):
        for member in (ann, bob):
            refused = await _moderate(client, member, review["id"], action)
            assert refused.status_code == 403, (action, member)
            assert refused.json()["code"] == "forbidden"
        assert (
            await client.post(f"{API}/movie-reviews/{review['id']}/{action}")
        ).status_code == 401
        missing = await _moderate(client, moderator, str(uuid.uuid4()), action)
        assert missing.status_code == 404
    assert await _rating(client, movie["id"]) == {"average": 5.0, "count": 2}

    for _ in range(2):  # hiding twice moves the rating once
        hidden = await _moderate(client, moderator, review["id"], "hide")
        assert hidden.status_code == 200, hidden.text
        assert hidden.json() == {
            **review,
            "hidden": True,
            "likes_count": 1,
            "modified": hidden.json()["modified"],
        }
    assert await _rating(client, movie["id"]) == {"average": 8.0, "count": 1}
    listed = await _reviews(client, movie["id"])
    assert [r["id"] for r in listed["items"]] == [kept["id"]]
    assert listed["total"] == 1
    assert [r["id"] for r in (await _reviews(client, movie["id"], sort="-created"))["items"]] == [
        kept["id"]
    ]

    # A hidden review cannot be liked or unliked.
    for action in (_like, _unlike):
        gone = await action(client, bob, review["id"])
        assert gone.status_code == 404
        assert gone.json()["code"] == "not_found"
    # Its author may change it while hidden: the rating does not move.
    patched = await client.patch(
        f"{API}/movie-reviews/{review['id']}", headers=ann.headers, json={"score": 4}
    )
    assert patched.status_code == 200
    assert patched.json()["hidden"] is True
    assert await _rating(client, movie["id"]) == {"average": 8.0, "count": 1}

    for _ in range(2):  # an admin unhides it, twice: counted once, with its new score
        shown = await _moderate(client, admin, review["id"], "unhide")
        assert shown.status_code == 200
        assert (shown.json()["hidden"], shown.json()["score"]) == (False, 4)
    assert await _rating(client, movie["id"]) == {"average": 6.0, "count": 2}
    listed = await _reviews(client, movie["id"])
    assert {r["id"] for r in listed["items"]} == {review["id"], kept["id"]}
    back = next(r for r in listed["items"] if r["id"] == review["id"])
    assert back["likes_count"] == 1  # the like kept through the hiding
    assert (await _like(client, bob, review["id"])).status_code == 204


async def test_deleting_a_hidden_review_leaves_the_rating_alone(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann, bob = await users.moderator(), await users.create(), await users.create()
    movie = await _movie(client, moderator, "Stalker")
    review = await _review(client, ann, movie["id"], 1)
    await _review(client, bob, movie["id"], 7)
    assert (await _moderate(client, moderator, review["id"], "hide")).status_code == 200
    assert await _rating(client, movie["id"]) == {"average": 7.0, "count": 1}

    assert (
        await client.delete(f"{API}/movie-reviews/{review['id']}", headers=ann.headers)
    ).status_code == 204
    assert await _rating(client, movie["id"]) == {"average": 7.0, "count": 1}
    assert (await _moderate(client, moderator, review["id"], "unhide")).status_code == 404
    assert await _rating(client, movie["id"]) == {"average": 7.0, "count": 1}


# --- races ------------------------------------------------------------------------------------------


async def test_a_like_racing_a_delete_is_204_or_404_never_500(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    """The like waits for the delete under way (then 404) or the delete waits for the like;
    the like's row never meets a review that is gone (a foreign-key violation, a 500)."""
    moderator, author = await users.moderator(), await users.create()
    fans = [await users.create() for _ in range(4)]
    movie = await _movie(client, moderator, "Stalker")
    for round_ in range(20):
        review = await _review(client, author, movie["id"], 5)
        url = f"{API}/movie-reviews/{review['id']}"
        responses = await asyncio.gather(
            *(_like(client, fan, review["id"]) for fan in fans[:2]),
            client.delete(url, headers=author.headers),
            *(_like(client, fan, review["id"]) for fan in fans[2:]),
        )
        assert responses[2].status_code == 204, round_
        likes = [r.status_code for i, r in enumerate(responses) if i != 2]
        assert set(likes) <= {204, 404}, (round_, [r.text for r in responses])
    assert await _rating(client, movie["id"]) == {"average": None, "count": 0}


async def test_a_like_racing_a_hide_lands_before_it_or_is_404(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    """A like answered 204 was counted before the hide (the hidden review's likes_count shows
    it); one that comes after the hide is a 404: no like reaches a hidden review."""
    moderator, author = await users.moderator(), await users.create()
    fans = [await users.create() for _ in range(3)]
    movie = await _movie(client, moderator, "Stalker")
    for round_ in range(20):
        review = await _review(client, author, movie["id"], 5)
        like_a, hidden, like_b, like_c = await asyncio.gather(
            _like(client, fans[0], review["id"]),
            _moderate(client, moderator, review["id"], "hide"),
            _like(client, fans[1], review["id"]),
            _like(client, fans[2], review["id"]),
        )
        assert hidden.status_code == 200
        likes = [like_a.status_code, like_b.status_code, like_c.status_code]
        assert set(likes) <= {204, 404}, round_
        assert hidden.json()["likes_count"] == likes.count(204), (round_, likes)
        shown = await _moderate(client, moderator, review["id"], "unhide")
        assert shown.json()["likes_count"] == likes.count(204), round_
        deleted = await client.delete(f"{API}/movie-reviews/{review['id']}", headers=author.headers)
        assert deleted.status_code == 204


async def test_racing_identical_reviews_and_follows_count_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, ann = await users.moderator(), await users.create()
    fans = [await users.create() for _ in range(5)]
    movie = await _movie(client, moderator, "Stalker")
    url = f"{API}/movies/{movie['id']}"

    reviews = await asyncio.gather(
        *(client.post(f"{url}/reviews", headers=ann.headers, json={"score": s}) for s in (2, 9, 4))
    )
    assert sorted(r.status_code for r in reviews) == [201, 409, 409]
    created = next(r.json() for r in reviews if r.status_code == 201)
    assert await _rating(client, movie["id"]) == {"average": float(created["score"]), "count": 1}

    follows = await asyncio.gather(
        *(client.put(f"{url}/follow", headers=ann.headers) for _ in range(4)),
        *(client.put(f"{url}/follow", headers=fan.headers) for fan in fans),
    )
    assert {r.status_code for r in follows} == {204}
    assert (await _read(client, movie["id"]))["followers_count"] == 1 + len(fans)
    unfollows = await asyncio.gather(
        *(client.delete(f"{url}/follow", headers=ann.headers) for _ in range(4)),
        *(client.delete(f"{url}/follow", headers=fan.headers) for fan in fans[:3]),
    )
    assert {r.status_code for r in unfollows} == {204}
    assert (await _read(client, movie["id"]))["followers_count"] == 2

    likes = await asyncio.gather(
        *(_like(client, fan, created["id"]) for fan in fans for _ in range(2))
    )
    assert {r.status_code for r in likes} == {204}
    listed = await _reviews(client, movie["id"])
    assert listed["items"][0]["likes_count"] == len(fans)
