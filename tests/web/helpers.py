"""What the web page tests do as a browser does: read a form's CSRF token, post a form with it,
sign in."""

from __future__ import annotations

import re

import httpx

from tests.support.factories import TestUser


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def submit(
    browser: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """As a browser does: load the page with the form, post it with its token."""
    token = csrf_in((await browser.get(page)).text)
    return await browser.post(action, data={**data, "csrf_token": token})


async def sign_in(browser: httpx.AsyncClient, user: TestUser) -> None:
    response = await submit(
        browser, "/login", "/login", {"email": user.email, "password": user.password}
    )
    assert response.status_code == 303, response.text
    assert browser.cookies.get("meetup_session")
