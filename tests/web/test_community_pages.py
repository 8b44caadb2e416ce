"""The community toggles of the web front end: like and favorite a meetup, follow a film and a
person; each a form posted with its CSRF token that redirects back to its page."""

from __future__ import annotations

import re

import httpx

from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.web.helpers import csrf_in, sign_in, submit

API = "/api/v1"


def _likes(html: str) -> str:
    match = re.search(r'<span id="likes-count">([^<]+)</span>', html)
    assert match, "no likes count in the page"
    return match.group(1)


def _pressed(html: str, button_id: str) -> str:
    match = re.search(rf'id="{button_id}"[^>]*aria-pressed="(true|false)"', html)
    assert match, f"no {button_id} in the page"
    return match.group(1)


async def test_like_then_unlike_and_favorite_a_meetup(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host, fan = await users.member(name="Host"), await users.member(name="Fan")
    meetup = await meetups.create(host, title="Solaris evening")
    path = f"/m/{meetup.id}"
    await sign_in(browser, fan)
    before = (await browser.get(path)).text
    assert _likes(before) == "0 likes" and _pressed(before, "like-button") == "false"

    liked = await submit(browser, path, f"{path}/like", {"on": "1"})
    assert liked.status_code == 303 and liked.headers["location"] == path
    page = (await browser.get(path)).text
    assert _likes(page) == "1 like" and _pressed(page, "like-button") == "true"
    api = await client.get(f"{API}/announcements/{meetup.id}")
    assert api.json()["likes_count"] == 1
    again = await submit(browser, path, f"{path}/like", {"on": "1"})  # idempotent
    assert again.status_code == 303
    assert (await client.get(f"{API}/announcements/{meetup.id}")).json()["likes_count"] == 1

    unliked = await submit(browser, path, f"{path}/like", {"on": ""})
    assert unliked.status_code == 303
    page = (await browser.get(path)).text
    assert _likes(page) == "0 likes" and _pressed(page, "like-button") == "false"
    assert (await client.get(f"{API}/announcements/{meetup.id}")).json()["likes_count"] == 0

    assert _pressed(page, "favorite-button") == "false"
    favored = await submit(browser, path, f"{path}/favorite", {"on": "1"})
    assert favored.status_code == 303
    assert _pressed((await browser.get(path)).text, "favorite-button") == "true"
    mine = await client.get(f"{API}/users/me/favorites", headers=fan.headers)
    assert [item["id"] for item in mine.json()["items"]] == [str(meetup.id)]
    await submit(browser, path, f"{path}/favorite", {"on": ""})
    mine = await client.get(f"{API}/users/me/favorites", headers=fan.headers)
    assert mine.json()["items"] == []


async def test_a_toggle_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host, fan = await users.member(), await users.member()
    meetup = await meetups.create(host)
    await sign_in(browser, fan)
    for action in ("like", "favorite"):
        response = await browser.post(f"/m/{meetup.id}/{action}", data={"on": "1"})
        assert response.status_code == 403
        response = await browser.post(
            f"/m/{meetup.id}/{action}", data={"on": "1", "csrf_token": "x" * 64}
        )
        assert response.status_code == 403
    assert (await client.get(f"{API}/announcements/{meetup.id}")).json()["likes_count"] == 0
    mine = await client.get(f"{API}/users/me/favorites", headers=fan.headers)
    assert mine.json()["items"] == []
    response = await browser.post(f"/u/{host.id}/follow", data={"on": "1"})
    assert response.status_code == 403
    followers = await client.get(f"{API}/users/{host.id}/followers")
    assert followers.json()["items"] == []


async def test_anonymous_visitors_are_asked_to_sign_in(
    browser: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host = await users.member()
    meetup = await meetups.create(host)
    page = await browser.get(f"/m/{meetup.id}")
    assert f'href="/login?next=/m/{meetup.id}"' in page.text and "Sign in to like" in page.text
    assert "like-button" not in page.text
    assert 'id="follow"' not in (await browser.get(f"/u/{host.id}")).text
    posted = await browser.post(
        f"/m/{meetup.id}/like",
        data={"on": "1", "csrf_token": csrf_in((await browser.get("/login")).text)},
    )
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/login?next=")


async def test_follow_a_film_and_a_person(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, users: UserFactory
) -> None:
    moderator, fan, other = (
        await users.moderator(),
        await users.member(name="Fan"),
        await users.member(name="Other Olga"),
    )
    created = await client.post(
        f"{API}/movies", headers=moderator.headers, json={"title": "Mirror"}
    )
    assert created.status_code == 201, created.text
    film = f"/films/{created.json()['id']}"
    await sign_in(browser, fan)
    assert ">Follow<" in (await browser.get(film)).text
    followed = await submit(browser, film, f"{film}/follow", {"on": "1"})
    assert followed.status_code == 303 and followed.headers["location"] == film
    page = (await browser.get(film)).text
    assert ">Unfollow<" in page and 'aria-pressed="true"' in page
    movies = await client.get(f"{API}/users/me/movies", headers=fan.headers)
    assert [m["title"] for m in movies.json()["items"]] == ["Mirror"]
    await submit(browser, film, f"{film}/follow", {"on": ""})
    movies = await client.get(f"{API}/users/me/movies", headers=fan.headers)
    assert movies.json()["items"] == []

    person = f"/u/{other.id}"
    assert 'id="follow"' not in (await browser.get(f"/u/{fan.id}")).text  # not oneself
    followed = await submit(browser, person, f"{person}/follow", {"on": "1"})
    assert followed.status_code == 303
    assert ">Unfollow<" in (await browser.get(person)).text
    followers = await client.get(f"{API}/users/{other.id}/followers")
    assert [u["id"] for u in followers.json()["items"]] == [str(fan.id)]
    own = await browser.post(
        f"/u/{fan.id}/follow",
        data={"on": "1", "csrf_token": csrf_in((await browser.get(person)).text)},
    )
    assert own.status_code == 400  # not oneself
