"""Rating after the meetup from its page: the host rates the guests, a guest rates the host, once
each and only within the review window; the ratings show on the profiles."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.reviews.helpers import MeetupFactory
from tests.support.clock import TestClock
from tests.support.factories import UserFactory
from tests.web.helpers import csrf_in, sign_in


async def _rate(
    browser: httpx.AsyncClient, meetup_id: object, target_id: object, score: str, **extra: str
) -> httpx.Response:
    token = csrf_in((await browser.get(f"/m/{meetup_id}")).text)
    data = {"target_user_id": str(target_id), "score": score, "csrf_token": token, **extra}
    return await browser.post(f"/m/{meetup_id}/reviews", data=data)


async def test_host_and_guest_rate_each_other_after_the_meetup(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    users: UserFactory,
    ended: MeetupFactory,
    clock: TestClock,
) -> None:
    host, guest = await users.create(name="Hana"), await users.create(name="Gus")
    meetup = await ended.create(host, approved=[guest])
    await sign_in(browser, host)
    await sign_in(other_browser, guest)

    host_page = (await browser.get(f"/m/{meetup.id}")).text
    assert "How was Gus as a guest?" in host_page
    guest_page = (await other_browser.get(f"/m/{meetup.id}")).text
    assert "How was Hana as a host?" in guest_page

    rated = await _rate(other_browser, meetup.id, host.id, "5", comment="Great pick")
    assert rated.status_code == 303
    assert rated.headers["location"] == f"/m/{meetup.id}?done=rated"
    after = (await other_browser.get(rated.headers["location"])).text
    assert "your rating is saved" in after
    assert "You rated Hana: 5 of 5." in after
    assert "How was Hana as a host?" not in after  # one rating per person
    assert (await _rate(browser, meetup.id, guest.id, "3")).status_code == 303

    hana = (await client.get(f"/api/v1/users/{host.id}")).json()
    assert hana["host_rating"] == {"average": 5.0, "count": 1}
    gus = (await client.get(f"/api/v1/users/{guest.id}")).json()
    assert gus["guest_rating"] == {"average": 3.0, "count": 1}
    profile = (await browser.get(f"/u/{host.id}")).text
    assert "Great pick" in profile


async def test_a_second_rating_is_refused_and_counts_once(
    other_browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    users: UserFactory,
    ended: MeetupFactory,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await ended.create(host, approved=[guest])
    await sign_in(other_browser, guest)
    assert (await _rate(other_browser, meetup.id, host.id, "4")).status_code == 303

    again = await _rate(other_browser, meetup.id, host.id, "1")

    assert again.status_code == 409
    assert 'role="alert"' in again.text
    rating = (await client.get(f"/api/v1/users/{host.id}")).json()["host_rating"]
    assert rating == {"average": 4.0, "count": 1}


async def test_rating_before_the_end_is_refused_in_russian(
    other_browser: httpx.AsyncClient,
    users: UserFactory,
    ended: MeetupFactory,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await ended.create(host, approved=[guest], ends_at=clock.now + timedelta(hours=1))
    await sign_in(other_browser, guest)
    page = (await other_browser.get(f"/m/{meetup.id}?lang=ru")).text
    assert "Оцените встречу" not in page  # no form while the film is still running

    early = await _rate(other_browser, meetup.id, host.id, "5")

    assert early.status_code == 409
    assert "Отзывы можно оставить после окончания встречи." in early.text

    clock.set(meetup.ends_at)
    assert "Оцените встречу" in (await other_browser.get(f"/m/{meetup.id}")).text


async def test_outsiders_get_no_form_and_are_refused(
    browser: httpx.AsyncClient, users: UserFactory, ended: MeetupFactory, clock: TestClock
) -> None:
    host, guest, stranger = await users.create(), await users.create(), await users.create()
    meetup = await ended.create(host, approved=[guest])
    await sign_in(browser, stranger)

    assert "rate-form" not in (await browser.get(f"/m/{meetup.id}")).text
    refused = await _rate(browser, meetup.id, host.id, "5")

    assert refused.status_code == 403
    assert 'role="alert"' in refused.text


async def test_a_rating_without_its_csrf_token_changes_nothing(
    other_browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    users: UserFactory,
    ended: MeetupFactory,
    clock: TestClock,
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await ended.create(host, approved=[guest])
    await sign_in(other_browser, guest)

    forged = await other_browser.post(
        f"/m/{meetup.id}/reviews", data={"target_user_id": str(host.id), "score": "1"}
    )

    assert forged.status_code == 403
    rating = (await client.get(f"/api/v1/users/{host.id}")).json()["host_rating"]
    assert rating["count"] == 0


async def test_a_score_out_of_range_is_a_422_with_a_message(
    other_browser: httpx.AsyncClient, users: UserFactory, ended: MeetupFactory, clock: TestClock
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await ended.create(host, approved=[guest])
    await sign_in(other_browser, guest)

    for score in ("9", "", "five"):
        bad = await _rate(other_browser, meetup.id, host.id, score)
        assert bad.status_code == 422, score
        assert 'role="alert"' in bad.text
