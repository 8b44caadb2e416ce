"""The web pages in a real browser: headless Chromium (Debian's `chromium` package) driven over
the DevTools protocol against the test app served over HTTP (tests/support/browser.py). A guest
signs up, confirms, signs in, filters, books and sees it on their page, in English and in
Russian; a host announces, approves a request, and the guest sees the approval, in both languages; axe-core finds no
serious or critical accessibility problem on the main pages in either language.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core import clock
from app.models.announcements import Announcement, Approval
from tests.admin.helpers import RunWorker
from tests.auth.helpers import code_in
from tests.support import browser as cdp
from tests.support.browser import Browser
from tests.support.factories import TestUser, UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox

chromium, live_url, browser = cdp.chromium, cdp.live_url, cdp.browser  # the fixtures

AXE_VERSION = "4.10.2"
AXE = Path(__file__).resolve().parents[2] / f"app/web/static/vendor/axe-core-{AXE_VERSION}"
SUBMIT = "main form button[type=submit]"


async def sign_up_and_confirm(
    tab: Browser,
    live_url: str,
    mailbox: Mailbox,
    run_worker: RunWorker,
    *,
    name: str,
    email: str,
    password: str,
    lang: str = "en",
) -> dict[str, str]:
    """Sign-up, the emailed code, confirmation, sign-in; the texts of each page on the way."""
    texts: dict[str, str] = {}
    await tab.open(f"{live_url}/signup?lang={lang}")
    texts["signup"] = await tab.text()
    await tab.fill({"name": name, "email": email, "password": password})
    await tab.click(SUBMIT)
    assert (await tab.path()).startswith("/confirm?email="), await tab.text()
    texts["confirm"] = await tab.text()
    assert await tab.run("document.getElementById('email').value") == email
    await run_worker()
    await tab.fill({"code": code_in(mailbox, email)})
    await tab.click(f"{SUBMIT}:not([name=resend])")
    assert (await tab.path()).startswith("/login"), await tab.text()
    texts["login"] = await tab.text()
    await tab.fill({"email": email, "password": password})
    await tab.click(SUBMIT)
    assert await tab.path() == "/me", await tab.text()  # signed in: my page
    assert "meetup_session" not in await tab.run("document.cookie")  # httpOnly
    texts["me"] = await tab.text()
    await tab.click("a.brand")
    texts["home"] = await tab.text()
    return texts


async def sign_in(tab: Browser, live_url: str, user: TestUser) -> None:
    await tab.open(f"{live_url}/login")
    await tab.fill({"email": user.email, "password": user.password})
    await tab.click(SUBMIT)
    assert await tab.path() == "/me", await tab.text()


async def find_and_book(tab: Browser, live_url: str) -> str:
    """Filter the home page down to Solaris, open it, book two seats; the meetup's path."""
    await tab.open(f"{live_url}/")
    await tab.fill({"q": "solaris"})
    await tab.run("document.querySelector('input[name=seats]').checked = true")
    await tab.run(f"document.querySelector({json.dumps(SUBMIT)}).click()")  # htmx swaps results
    await tab.wait_until(
        "location.search.includes('q=solaris') && "
        "!document.getElementById('results').innerText.includes('Stalker night')"
    )
    assert "Solaris evening" in await tab.run("document.getElementById('results').innerText")
    await tab.click("#results .meetup-card h2 a")
    path = await tab.path()
    assert path.startswith("/m/")
    await tab.fill({"seats": "2"})
    await tab.click("form[action$='/book'] button[type=submit]")
    assert await tab.path() == f"{path}?done=approved", await tab.text()
    return path


async def two_meetups(users: UserFactory, meetups: Meetups) -> Announcement:
    host = await users.member(name="Hosting Hank")
    solaris = await meetups.create(
        host, title="Solaris evening", movie_title="Solaris", approval=Approval.auto
    )
    await meetups.create(host, title="Stalker night", movie_title="Stalker")
    return solaris


async def test_a_guest_signs_up_finds_books_and_sees_it_on_my_page(
    users: UserFactory,
    meetups: Meetups,
    mailbox: Mailbox,
    run_worker: RunWorker,
    live_url: str,
    browser: Browser,
) -> None:
    await two_meetups(users, meetups)
    texts = await sign_up_and_confirm(
        browser,
        live_url,
        mailbox,
        run_worker,
        name="Gina",
        email="gina@example.com",
        password="a good long password",
    )
    assert "Create an account" in texts["signup"]
    assert "We emailed you a 6-digit code." in texts["confirm"]
    assert "Your email is confirmed. Sign in now." in texts["login"]

    path = await find_and_book(browser, live_url)
    assert "You are in: your seats are confirmed." in await browser.text()
    assert "Gina (+1)" in await browser.run("document.getElementById('guest-list').innerText")

    await browser.click("#my-page")
    assert await browser.path() == "/me"
    approved = await browser.run("document.querySelector('ul.bookings-approved').innerHTML")
    assert "Solaris evening" in approved and path in approved


HOST_SIDE = {
    "en": {
        "announced": "Your meetup is announced.",
        "sent": "Request sent",
        "none_waiting": "No request waits for you.",
    },
    "ru": {
        "announced": "Встреча опубликована.",
        "sent": "Заявка отправлена",
        "none_waiting": "Заявок, ожидающих вашего решения, нет.",
    },
}


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_host_announces_approves_a_request_and_the_guest_sees_it(
    users: UserFactory, run_worker: RunWorker, live_url: str, browser: Browser, lang: str
) -> None:
    says = HOST_SIDE[lang]
    host, guest = await users.member(name="Host Hanna"), await users.member(name="Guest Greta")
    await browser.open(f"{live_url}/?lang={lang}")  # the language switch: a cookie remembers it
    await sign_in(browser, live_url, host)
    assert await browser.run("document.documentElement.lang") == lang
    await browser.click("header a[href='/m/new']")
    start = (clock.now() + timedelta(days=3)).replace(tzinfo=None).isoformat(timespec="minutes")
    await browser.fill(
        {
            "title": "Mirror matinee",
            "movie_title": "Mirror",
            "event_time": start,
            "timezone": "Europe/Moscow",
            "location": "Cinema club",
            "tickets_count": "3",
        }
    )
    await browser.click(SUBMIT)
    path, query = (await browser.path()).split("?")
    assert path.startswith("/m/") and query == "done=created", await browser.text()
    assert says["announced"] in await browser.text()
    await run_worker()

    guest_tab = await browser.new_tab()  # a browser context of its own: other cookies
    await guest_tab.open(f"{live_url}/?lang={lang}")
    await sign_in(guest_tab, live_url, guest)
    await guest_tab.open(f"{live_url}{path}")
    await guest_tab.fill({"message": "Can I bring tea?"})
    await guest_tab.click("form[action$='/book'] button[type=submit]")
    assert await guest_tab.path() == f"{path}?done=pending"
    assert says["sent"] in await guest_tab.text()
    await run_worker()

    await browser.open(f"{live_url}{path}")
    requests = await browser.run("document.getElementById('requests').innerText")
    assert "Guest Greta" in requests and "Can I bring tea?" in requests
    await browser.click("#requests form[action$='/approve'] button")
    assert says["none_waiting"] in await browser.text()
    assert "Guest Greta" in await browser.run("document.getElementById('guest-list').innerText")
    await run_worker()

    await guest_tab.open(f"{live_url}/me")
    assert await guest_tab.run("!!document.getElementById('unread-badge')")
    notice = await guest_tab.run(
        "document.querySelector('[data-kind=booking_approved]')?.innerText ?? ''"
    )
    assert notice, await guest_tab.text()
    approved = await guest_tab.run("document.querySelector('ul.bookings-approved').innerText")
    assert "Mirror matinee" in approved


async def test_the_sign_up_flow_in_russian(
    users: UserFactory,
    meetups: Meetups,
    mailbox: Mailbox,
    run_worker: RunWorker,
    live_url: str,
    browser: Browser,
) -> None:
    await two_meetups(users, meetups)
    texts = await sign_up_and_confirm(
        browser,
        live_url,
        mailbox,
        run_worker,
        name="Галина",
        email="galina@example.com",
        password="хороший длинный пароль",
        lang="ru",
    )
    assert await browser.run("document.documentElement.lang") == "ru"
    assert "Создать аккаунт" in texts["signup"]  # Create an account
    assert "Зарегистрироваться" in texts["signup"]  # Sign up
    assert "Пароль" in texts["signup"]  # Password
    assert "Подтвердите адрес почты" in texts["confirm"]  # Confirm your email
    assert "Мы отправили вам на почту 6-значный код." in texts["confirm"]
    assert "Подтвердить" in texts["confirm"]  # Confirm
    assert "Адрес почты подтверждён. Теперь войдите." in texts["login"]
    assert "Моя страница" in texts["me"]  # My page
    assert "Предстоящие встречи" in texts["home"]  # Upcoming meetups
    assert "Найти" in texts["home"]  # Find
    assert "Create an account" not in texts["signup"]

    await find_and_book(browser, live_url)
    assert "Ваше бронирование" in await browser.text()  # Your booking
    assert "Отменить бронирование" in await browser.text()  # Cancel my booking


async def axe_problems(tab: Browser) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the open page."""
    await tab.run(
        f"""new Promise((resolve, reject) => {{
            if (window.axe) return resolve();
            const script = document.createElement('script');
            script.src = '/static/vendor/axe-core-{AXE_VERSION}/axe.min.js';
            script.onload = resolve;
            script.onerror = () => reject(new Error('axe-core did not load'));
            document.head.appendChild(script);
        }})"""
    )
    found = await tab.run(
        """axe.run(document).then(result => result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))"""
    )
    assert isinstance(found, list)
    return found


async def test_axe_finds_no_serious_accessibility_problem(
    users: UserFactory, meetups: Meetups, live_url: str, browser: Browser
) -> None:
    assert (AXE / "axe.min.js").is_file() and (AXE / "LICENSE").is_file()
    solaris = await two_meetups(users, meetups)
    guest = await users.member(name="Axe Alex")
    await meetups.book(solaris, guest)
    moderator, critic = await users.moderator(), await users.member(name="Critic Clara")
    async with httpx.AsyncClient(base_url=live_url) as api:
        created = await api.post(
            "/api/v1/movies",
            headers=moderator.headers,
            json={"title": "Solaris", "year": 1972, "description": "The ocean thinks."},
        )
        film = f"/films/{created.json()['id']}"
        reviewed = await api.post(
            f"/api/v1{film.replace('/films', '/movies')}/reviews",
            headers=critic.headers,
            json={"score": 9, "text": "Slow, and all the better."},
        )
        assert reviewed.status_code == 201, reviewed.text
    problems: dict[str, list[dict[str, Any]]] = {}
    for lang in ("en", "ru"):
        tab = browser if lang == "en" else await browser.new_tab()
        for page in ("/signup", "/login"):
            await tab.open(f"{live_url}{page}?lang={lang}")
            problems[f"{page} ({lang})"] = await axe_problems(tab)
        await sign_in(tab, live_url, guest)
        assert await tab.run("document.documentElement.lang") == lang
        for page in ("/", f"/m/{solaris.id}", "/me", film):  # the film: review form, like
            await tab.open(f"{live_url}{page}")
            problems[f"{page} ({lang})"] = await axe_problems(tab)
    assert len(problems) == 12
    assert not any(problems.values()), json.dumps(problems, indent=1, ensure_ascii=False)
