"""The web front end through HTTP, as a browser without JavaScript uses it: forms posted with
their CSRF token, 303 redirects, the session cookie."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.core import clock
from app.models.announcements import Approval
from tests.admin.helpers import RunWorker
from tests.auth.helpers import code_in
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox
from tests.web.helpers import csrf_in, sign_in, submit


def _meetup_id(location: str) -> str:
    match = re.match(r"/m/([0-9a-f-]{36})", location)
    assert match, location
    return match.group(1)


async def test_guest_signs_up_confirms_finds_books_and_sees_it_on_my_page(
    browser: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    host = await users.member(name="Hosting Hank")
    await meetups.create(
        host, title="Solaris evening", movie_title="Solaris", approval=Approval.auto
    )
    await meetups.create(host, title="Stalker night", movie_title="Stalker")

    home = await browser.get("/")
    assert home.status_code == 200
    assert 'href="#main"' in home.text and "Sign in" in home.text
    signup = await submit(
        browser,
        "/signup",
        "/signup",
        {"name": "Gina", "email": "gina@example.com", "password": "a good long password"},
    )
    assert signup.status_code == 303, signup.text
    assert signup.headers["location"].startswith("/confirm?email=gina")
    await run_worker()
    code = code_in(mailbox, "gina@example.com")
    confirmed = await submit(
        browser, "/confirm", "/confirm", {"email": "gina@example.com", "code": code}
    )
    assert confirmed.status_code == 303, confirmed.text
    login = await submit(
        browser,
        "/login",
        "/login",
        {"email": "gina@example.com", "password": "a good long password"},
    )
    assert login.status_code == 303
    cookie = next(c for c in browser.cookies.jar if c.name == "meetup_session")
    assert cookie.has_nonstandard_attr("HttpOnly")

    found = await browser.get("/", params={"q": "solaris", "seats": "1"})
    assert "Solaris evening" in found.text and "Stalker night" not in found.text
    meetup_path = re.search(r'href="(/m/[0-9a-f-]{36})"', found.text)
    assert meetup_path
    page = await browser.get(meetup_path.group(1))
    assert "Hosting Hank" in page.text and "calendar.ics" in page.text
    booked = await submit(
        browser, meetup_path.group(1), meetup_path.group(1) + "/book", {"seats": "2"}
    )
    assert booked.status_code == 303, booked.text
    after = await browser.get(booked.headers["location"])
    assert "Gina" in after.text  # on the guest list
    assert "Cancel my booking" in after.text

    me = await browser.get("/me")
    assert me.status_code == 200
    assert "Solaris evening" in me.text and 'class="bookings-approved"' in me.text


async def test_host_creates_approves_and_the_guest_is_notified(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    users: UserFactory,
    run_worker: RunWorker,
) -> None:
    host, guest = await users.member(name="Host"), await users.member(name="Guest Greta")
    await sign_in(browser, host)
    start = (clock.now() + timedelta(days=3)).replace(tzinfo=None).isoformat(timespec="minutes")
    created = await submit(
        browser,
        "/m/new",
        "/m/new",
        {
            "title": "Mirror matinee",
            "movie_title": "Mirror",
            "event_time": start,
            "timezone": "Europe/Moscow",
            "location": "Cinema club",
            "tickets_count": "3",
            "approval": "manual",
            "price": "",
        },
    )
    assert created.status_code == 303, created.text
    path = f"/m/{_meetup_id(created.headers['location'])}"

    await sign_in(other_browser, guest)
    requested = await submit(other_browser, path, path + "/book", {"seats": "1"})
    assert requested.status_code == 303
    assert requested.headers["location"].endswith("done=pending")

    host_page = await browser.get(path)
    assert "Guest Greta" in host_page.text and "Approve" in host_page.text
    booking_id = re.search(r'action="/bookings/([0-9a-f-]{36})/approve"', host_page.text)
    assert booking_id
    approved = await browser.post(
        f"/bookings/{booking_id.group(1)}/approve", data={"csrf_token": csrf_in(host_page.text)}
    )
    assert approved.status_code == 303, approved.text
    await run_worker()

    me = await other_browser.get("/me")
    assert 'data-kind="booking_approved"' in me.text
    assert 'id="unread-badge"' in me.text


async def test_a_form_without_its_csrf_token_is_refused(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    user = await users.member()
    await browser.get("/login")
    forged = await browser.post("/login", data={"email": user.email, "password": user.password})
    assert forged.status_code == 403
    wrong = await browser.post(
        "/login", data={"email": user.email, "password": user.password, "csrf_token": "x" * 64}
    )
    assert wrong.status_code == 403
    assert "meetup_session" not in browser.cookies


async def test_logout_ends_the_session_for_the_old_cookie_too(
    browser: httpx.AsyncClient, users: UserFactory, app: FastAPI
) -> None:
    user = await users.member()
    await sign_in(browser, user)
    old = browser.cookies["meetup_session"]
    assert (await browser.get("/me")).status_code == 200
    out = await submit(browser, "/me", "/logout", {})
    assert out.status_code == 303
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", cookies={"meetup_session": old}
    ) as replay:
        again = await replay.get("/me")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_language_switch_sets_a_cookie(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/", params={"lang": "ru"})
    assert response.status_code == 200
    assert '<html lang="ru">' in response.text
    assert browser.cookies["lang"] == "ru"
    assert '<html lang="ru">' in (await browser.get("/")).text


async def test_a_refusal_is_shown_in_the_page_language(
    browser: httpx.AsyncClient, users: UserFactory
) -> None:
    """What a service refuses reads in the page's language, like the API's `detail`."""
    user = await users.member()
    wrong = {"email": user.email, "password": "not the password"}
    english = await submit(browser, "/login", "/login", wrong)
    assert english.status_code == 401
    assert "Wrong email or password." in english.text
    await browser.get("/", params={"lang": "ru"})
    russian = await submit(browser, "/login", "/login", wrong)
    assert russian.status_code == 401
    assert "Неверный адрес почты или пароль." in russian.text
    assert "Wrong email or password." not in russian.text


async def test_a_short_link_opens_the_page_for_a_browser_and_the_api_for_clients(
    client: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host = await users.member()
    meetup = await meetups.create(host)
    browser_hit = await client.get(
        f"/s/{meetup.short_code}", headers={"Accept": "text/html,application/xhtml+xml"}
    )
    assert browser_hit.status_code == 307
    assert browser_hit.headers["location"].endswith(f"/m/{meetup.id}")
    api_hit = await client.get(f"/s/{meetup.short_code}")
    assert api_hit.status_code == 307
    assert api_hit.headers["location"].endswith(f"/api/v1/announcements/{meetup.id}")


async def test_profile_films_and_edit_pages_render(
    browser: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host = await users.member(name="Profiled Pat")
    meetup = await meetups.create(host, title="Ivan's Childhood")
    profile = await browser.get(f"/u/{host.id}")
    assert profile.status_code == 200 and "Profiled Pat" in profile.text
    assert "Ivan&#39;s Childhood" in profile.text
    assert (await browser.get("/films")).status_code == 200
    await sign_in(browser, host)
    edit_page = await browser.get(f"/m/{meetup.id}/edit")
    assert edit_page.status_code == 200
    saved = await browser.post(
        f"/m/{meetup.id}/edit",
        data={
            **_form_values(edit_page.text),
            "title": "Ivan's Childhood, restored",
            "csrf_token": csrf_in(edit_page.text),
        },
    )
    assert saved.status_code == 303, saved.text
    assert "restored" in (await browser.get(f"/m/{meetup.id}")).text


def _form_values(html: str) -> dict[str, str]:
    values = dict(re.findall(r'<input id="[^"]+" name="([^"]+)"[^>]*value="([^"]*)"', html))
    values["approval"] = "manual"
    return {k: v.replace("&#39;", "'") for k, v in values.items()}
