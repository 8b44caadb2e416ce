"""The screening's language (soundtrack and subtitles): set, shown, changed, and told."""

from __future__ import annotations

import httpx

from tests.announcements.helpers import API, approve, book
from tests.notifications.helpers import RunWorker, inbox
from tests.support.announcements import create_announcement
from tests.support.factories import UserFactory


async def test_language_is_kept_listed_and_a_change_is_told_to_guests(
    client: httpx.AsyncClient, users: UserFactory, run_worker: RunWorker
) -> None:
    host, guest = await users.create(), await users.create()
    meetup = await create_announcement(client, host)
    assert meetup["language"] == ""  # not said
    subtitled = await create_announcement(
        client, host, title="Mirror", movie_title="Mirror", language="  Russian, English subtitles "
    )
    assert subtitled["language"] == "Russian, English subtitles"
    shown = (await client.get(f"{API}/{subtitled['id']}")).json()
    assert shown["language"] == "Russian, English subtitles"

    booking = await book(client, guest, meetup["id"])
    await approve(client, host, booking["id"])
    await run_worker()
    changed = await client.patch(
        f"{API}/{meetup['id']}", headers=host.headers, json={"language": "Original, no subtitles"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "Original, no subtitles"
    await run_worker()
    notice = (await inbox(client, guest))["items"][0]
    assert notice["kind"] == "announcement_updated"
    assert "Language: none → Original, no subtitles" in notice["body"]


async def test_language_is_bounded_single_line_text(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    host = await users.create()
    meetup = await create_announcement(client, host)
    for bad in ("x" * 101, "Russian\nEnglish", None):
        response = await client.patch(
            f"{API}/{meetup['id']}", headers=host.headers, json={"language": bad}
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["code"] == "validation_error"
