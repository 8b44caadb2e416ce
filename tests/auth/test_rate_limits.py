"""Rate limits reserve their slot before the work (the password hash), so a burst of simultaneous
requests cannot get more through than the limit; their windows follow the app clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from app.core import ratelimit
from app.core.config import get_settings
from tests.auth.helpers import login
from tests.support.clock import TestClock
from tests.support.factories import DEFAULT_PASSWORD, UserFactory

CHANGE = "/api/v1/auth/password/change"


def _login_limit() -> int:
    return ratelimit.Rate.parse(get_settings().rate_limit_login).limit


def _auth_limit() -> int:
    return ratelimit.Rate.parse(get_settings().rate_limit_auth).limit


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def test_simultaneous_wrong_logins_for_one_account_cannot_pass_the_limit(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    assert get_settings().rate_limit_login == "10/minute"
    ann = await users.create(signed_in=False)
    responses = await asyncio.gather(
        *(login(client, ann.email, "wrong-password") for _ in range(40))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {401, 429}
    assert 1 <= statuses.count(401) <= _login_limit()
    for response in responses:
        if response.status_code == 429:
            _assert_limited(response)
    # The account stays locked for the window, even with the right password.
    _assert_limited(await login(client, ann.email, DEFAULT_PASSWORD))


async def test_simultaneous_auth_requests_from_one_ip_cannot_pass_the_limit(
    client: httpx.AsyncClient, clock: TestClock
) -> None:
    forgot = "/api/v1/auth/password/forgot"
    responses = await asyncio.gather(
        *(client.post(forgot, json={"email": f"n{i}@example.com"}) for i in range(45))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {202, 429}
    assert statuses.count(202) == _auth_limit()
    for response in responses:
        if response.status_code == 429:
            _assert_limited(response)


async def test_successful_logins_do_not_use_up_the_limit(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create(signed_in=False)
    for _ in range(_login_limit() + 5):
        assert (await login(client, ann.email)).status_code == 200
    for _ in range(_login_limit()):
        assert (await login(client, ann.email, "wrong-password")).status_code == 401
    _assert_limited(await login(client, ann.email, "wrong-password"))


async def test_the_login_window_follows_the_app_clock(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create(signed_in=False)
    clock.set(clock.now.replace(second=30))
    for _ in range(_login_limit()):
        assert (await login(client, ann.email, "wrong-password")).status_code == 401
    limited = await login(client, ann.email, DEFAULT_PASSWORD)
    _assert_limited(limited)
    assert int(limited.headers["Retry-After"]) == 30
    clock.advance(seconds=29)
    _assert_limited(await login(client, ann.email, DEFAULT_PASSWORD))
    clock.advance(seconds=1)  # the next minute: a new window
    assert (await login(client, ann.email, DEFAULT_PASSWORD)).status_code == 200


async def test_wrong_current_password_on_change_counts_like_a_failed_login(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create()
    wrong = {"current_password": "not-it-at-all", "new_password": "brand-new-password"}
    for _ in range(_login_limit()):
        response = await client.post(CHANGE, headers=ann.headers, json=wrong)
        assert response.status_code == 400
        assert response.json()["code"] == "wrong_password"
    _assert_limited(await client.post(CHANGE, headers=ann.headers, json=wrong))
    right = {"current_password": DEFAULT_PASSWORD, "new_password": "brand-new-password"}
    _assert_limited(await client.post(CHANGE, headers=ann.headers, json=right))
    _assert_limited(await login(client, ann.email))  # the same account budget as sign-in
    clock.advance(timedelta(minutes=1))
    assert (await client.post(CHANGE, headers=ann.headers, json=right)).status_code == 204


async def test_simultaneous_wrong_password_changes_cannot_pass_the_limit(
    client: httpx.AsyncClient, users: UserFactory, clock: TestClock
) -> None:
    ann = await users.create()
    wrong = {"current_password": "not-it-at-all", "new_password": "brand-new-password"}
    responses = await asyncio.gather(
        *(client.post(CHANGE, headers=ann.headers, json=wrong) for _ in range(40))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {400, 429}
    assert 1 <= statuses.count(400) <= _login_limit()
