"""The film community on a film's page: write, change and delete one's review, like others'
reviews; and forms that come back with what was wrong, in English and in Russian."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html import unescape

import httpx

from app.core import clock
from tests.support.factories import TestUser, UserFactory
from tests.web.helpers import csrf_in, sign_in, submit

API = "/api/v1"


async def _film(client: httpx.AsyncClient, moderator: TestUser, title: str = "Stalker") -> str:
    created = await client.post(f"{API}/movies", headers=moderator.headers, json={"title": title})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _selected_score(html: str) -> str | None:
    match = re.search(r'<option value="(\d+)" selected>', html)
    return match.group(1) if match else None


def _like_pressed(html: str, review_id: str) -> str | None:
    block = html.split(f'id="review-{review_id}"', 1)[1].split("</blockquote>", 1)[0]
    match = re.search(r'class="secondary like-review" aria-pressed="(true|false)"', block)
    return match.group(1) if match else None


async def test_a_member_writes_changes_and_deletes_a_review_of_a_film(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, critic = await users.moderator(), await users.member(name="Kira Critic")
    movie_id = await _film(client, moderator)
    path = f"/films/{movie_id}"
    await sign_in(browser, critic)
    page = (await browser.get(path)).text
    assert "Review this film" in page and "No reviews yet." in page

    written = await submit(
        browser, path, f"{path}/review", {"score": "8", "text": "The Zone\r\nstays with you."}
    )
    assert written.status_code == 303
    assert written.headers["location"] == f"{path}?done=reviewed#mine"
    page = (await browser.get(f"{path}?done=reviewed")).text
    assert "your review is published" in page and "Your review" in page
    assert _selected_score(page) == "8" and "The Zone\nstays with you." in unescape(page)
    assert "★ 8/10 (1 review)" in page
    movie = (await client.get(f"{API}/movies/{movie_id}")).json()
    assert movie["rating"] == {"average": 8.0, "count": 1}

    changed = await submit(browser, path, f"{path}/review", {"score": "6", "text": ""})
    assert changed.headers["location"] == f"{path}?done=review_saved#mine"
    reviews = (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"]
    assert [(r["score"], r["text"], r["author"]["name"]) for r in reviews] == [
        (6, None, "Kira Critic")
    ]
    assert (await client.get(f"{API}/movies/{movie_id}")).json()["rating"]["average"] == 6.0

    deleted = await submit(browser, path, f"/films/reviews/{reviews[0]['id']}/delete", {})
    assert deleted.headers["location"] == f"{path}?done=review_deleted"
    assert (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"] == []
    movie = (await client.get(f"{API}/movies/{movie_id}")).json()
    assert movie["rating"] == {"average": None, "count": 0}
    assert "Review this film" in (await browser.get(path)).text


async def test_members_like_each_others_reviews_but_not_their_own(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    users: UserFactory,
) -> None:
    moderator = await users.moderator()
    author, reader = await users.member(name="Anna"), await users.member(name="Boris")
    movie_id = await _film(client, moderator, "Mirror")
    path = f"/films/{movie_id}"
    await sign_in(browser, author)
    await submit(browser, path, f"{path}/review", {"score": "9", "text": "Memory as film."})
    review_id = (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"][0]["id"]
    assert _like_pressed((await browser.get(path)).text, review_id) is None  # one's own

    await sign_in(other_browser, reader)
    assert _like_pressed((await other_browser.get(path)).text, review_id) == "false"
    liked = await submit(other_browser, path, f"/films/reviews/{review_id}/like", {"on": "1"})
    assert liked.status_code == 303 and liked.headers["location"] == f"{path}#review-{review_id}"
    page = (await other_browser.get(path)).text
    assert _like_pressed(page, review_id) == "true" and "1 like" in page
    again = await submit(other_browser, path, f"/films/reviews/{review_id}/like", {"on": "1"})
    assert again.status_code == 303  # a second like changes nothing
    reviews = (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"]
    assert reviews[0]["likes_count"] == 1

    await submit(other_browser, path, f"/films/reviews/{review_id}/like", {"on": ""})
    reviews = (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"]
    assert reviews[0]["likes_count"] == 0
    own = await submit(browser, path, f"/films/reviews/{review_id}/like", {"on": "1"})
    assert own.status_code == 400 and "You cannot like your own review." in own.text
    reviews = (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"]
    assert reviews[0]["likes_count"] == 0


async def test_review_forms_refuse_a_missing_token_and_send_strangers_to_sign_in(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, critic = await users.moderator(), await users.member()
    movie_id = await _film(client, moderator)
    path = f"/films/{movie_id}"
    page = (await browser.get(path)).text
    assert f'href="/login?next={path}"' in page and 'id="review-form"' not in page
    anonymous = await browser.post(
        f"{path}/review",
        data={"score": "7", "csrf_token": csrf_in((await browser.get("/login")).text)},
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=%2Ffilms%2F{movie_id}"

    await sign_in(browser, critic)
    forged = await browser.post(f"{path}/review", data={"score": "7", "csrf_token": "x" * 43})
    assert forged.status_code == 403 and "Form refused" in forged.text
    assert (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"] == []
    missing = await browser.post(f"/films/{'0' * 8}-0000-4000-8000-{'0' * 12}/review", data={})
    assert missing.status_code == 403  # the token is checked before anything is looked up


async def test_a_bad_review_comes_back_with_the_text_kept_and_what_was_wrong(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, critic = await users.moderator(), await users.member()
    movie_id = await _film(client, moderator)
    path = f"/films/{movie_id}"
    await sign_in(browser, critic)
    text = "Long, slow, <perfect>."
    answer = await submit(browser, path, f"{path}/review", {"score": "11", "text": text})
    assert answer.status_code == 422
    assert 'id="review-error"' in answer.text and "score" in answer.text
    assert "Long, slow, &lt;perfect&gt;." in answer.text  # kept, and escaped
    assert (await client.get(f"{API}/movies/{movie_id}/reviews")).json()["items"] == []
    gone = await submit(browser, path, f"/films/{uuid.uuid4()}/review", {"score": "5"})
    assert gone.status_code == 404 and "Not found" in gone.text


async def test_a_refused_meetup_form_comes_back_filled_in_in_both_languages(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.member()
    await sign_in(browser, host)
    past = (clock.now() - timedelta(days=1)).replace(tzinfo=None).isoformat(timespec="minutes")
    form = {
        "title": "Too late",
        "movie_title": "Solaris",
        "event_time": past,
        "timezone": "UTC",
        "location": "Cinema club",
        "tickets_count": "3",
        "approval": "auto",
        "price": "",
    }
    english = await submit(browser, "/m/new", "/m/new", form)
    assert english.status_code == 422
    assert "event_time must be in the future." in english.text
    assert 'value="Too late"' in english.text and 'value="Cinema club"' in english.text

    await browser.get("/", params={"lang": "ru"})
    russian = await submit(browser, "/m/new", "/m/new", form)
    assert russian.status_code == 422
    assert "event_time должно быть в будущем." in russian.text
    assert "must be in the future" not in russian.text
    assert 'value="Too late"' in russian.text and 'lang="ru"' in russian.text


async def test_a_refused_sign_up_keeps_the_name_and_email_in_both_languages(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    taken = await users.member()
    form = {"email": taken.email.upper(), "name": "Second Sasha", "password": "long enough pw 1"}
    english = await submit(browser, "/signup", "/signup", form)
    assert english.status_code == 409
    assert "An account with this email already exists." in english.text
    assert 'value="Second Sasha"' in english.text

    await browser.get("/", params={"lang": "ru"})
    russian = await submit(browser, "/signup", "/signup", form)
    assert russian.status_code == 409
    assert "Аккаунт с этим адресом уже существует." in russian.text  # noqa: RUF001
    assert "already exists" not in russian.text and 'value="Second Sasha"' in russian.text
    assert 'role="alert"' in russian.text
