# ruff: noqa: RUF001 (Russian text)
"""The user's language: chosen at sign-up from Accept-Language, shown and changed on /me; error
details follow the request's Accept-Language; emails and notifications the recipient's locale."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

import httpx
from sqlalchemy import update

from app.core import clock
from app.core.db import Database
from app.models.users import User
from tests.auth.helpers import PASSWORD
from tests.notifications.helpers import inbox
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups
from tests.support.smtp import Mailbox

RunWorker = Callable[[], Awaitable[int]]
API = "/api/v1"
RU = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}


async def _register(
    client: httpx.AsyncClient, email: str, headers: dict[str, str]
) -> httpx.Response:
    body = {"email": email, "password": PASSWORD, "name": "Аня"}
    return await client.post(f"{API}/auth/register", json=body, headers=headers)


async def test_sign_up_in_russian_sets_the_locale_and_patch_changes_it(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    response = await _register(client, "anya@example.com", RU)
    assert response.status_code == 201, response.text
    assert response.json()["locale"] == "ru"
    english = await _register(client, "ann@example.com", {"Accept-Language": "de, en;q=0.5"})
    assert english.json()["locale"] == "en"

    user = await users.create()
    me = await client.get(f"{API}/auth/me", headers=user.headers)
    assert me.json()["locale"] == "en"
    patched = await client.patch(f"{API}/users/me", headers=user.headers, json={"locale": "ru"})
    assert patched.status_code == 200, patched.text
    assert (await client.get(f"{API}/auth/me", headers=user.headers)).json()["locale"] == "ru"
    refused = await client.patch(f"{API}/users/me", headers=user.headers, json={"locale": "de"})
    assert refused.status_code == 422


async def test_the_confirmation_email_of_a_russian_user_is_in_russian(
    client: httpx.AsyncClient, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    assert (await _register(client, "anya@example.com", RU)).status_code == 201
    await run_worker()
    [message] = mailbox.to("anya@example.com")
    text = Mailbox.text_of(message)
    assert "Здравствуйте, Аня!" in text
    assert "Код действует" in text
    assert str(message["Subject"]) == "Ваш код подтверждения Movie Meetup"


async def test_a_409_detail_follows_accept_language_and_the_code_does_not(
    client: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host)
    url = f"{API}/announcements/{meetup.id}/bookings"
    assert (await client.post(url, headers=guest.headers, json={})).status_code == 201
    russian = await client.post(url, headers={**guest.headers, **RU}, json={})
    english = await client.post(url, headers=guest.headers, json={})
    assert russian.status_code == english.status_code == 409
    assert russian.json() == {
        "detail": "У вас уже есть бронирование на эту встречу.",
        "code": "already_booked",
    }
    assert russian.headers["content-language"] == "ru"
    assert english.json()["detail"] == "You already have a booking for this meetup."
    assert english.headers["content-language"] == "en"


async def test_no_seats_is_plural_aware_in_russian(
    client: httpx.AsyncClient, users: UserFactory, meetups: Meetups
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await meetups.create(host, tickets_count=2)
    url = f"{API}/announcements/{meetup.id}/bookings"
    response = await client.post(url, headers={**guest.headers, **RU}, json={"seats": 3})
    assert response.status_code == 409, response.text
    assert response.json() == {"detail": "Осталось только 2 места.", "code": "no_seats"}


async def test_approval_notice_for_a_russian_guest_is_russian_in_the_meetup_time_zone(
    client: httpx.AsyncClient,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
    run_worker: RunWorker,
    mailbox: Mailbox,
) -> None:
    host, guest = await users.create(name="Hostess"), await users.create()
    async with db.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == guest.id).values(locale="ru"))  # type: ignore[arg-type]
    soon = clock.now().date() + timedelta(days=30)
    friday = soon + timedelta(days=(4 - soon.weekday()) % 7)
    start = datetime.combine(friday, time(16, 0), tzinfo=UTC)  # 19:00 in Moscow
    meetup = await meetups.create(host, event_time=start, timezone="Europe/Moscow")
    url = f"{API}/announcements/{meetup.id}/bookings"
    booking = (await client.post(url, headers=guest.headers, json={"seats": 2})).json()
    approved = await client.post(
        f"{API}/bookings/{booking['id']}/approve", headers=host.headers, json=None
    )
    assert approved.status_code == 200, approved.text
    await run_worker()

    [item] = (await inbox(client, guest))["items"]
    assert item["kind"] == "booking_approved"
    assert item["title"].startswith("Вы идёте: «")
    assert f"пятница, {friday.day} " in item["title"] and "19:00 (Europe/Moscow)" in item["title"]
    assert "Hostess подтверждает ваше бронирование (2 места)" in item["body"]
    [message] = mailbox.to(guest.email)
    text = Mailbox.text_of(message)
    assert "Здравствуйте" in text and "Когда" in text and "19:00 (Europe/Moscow)" in text
    # The host (English) got the request in English.
    [request] = (await inbox(client, host))["items"]
    assert request["title"].startswith("New booking request for “")
