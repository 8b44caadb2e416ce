"""Who sees which bookings."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.bookings.conftest import MakeAnnouncement
from tests.bookings.helpers import book
from tests.support.factories import UserFactory


async def test_booking_is_visible_to_its_guest_host_and_admin_only(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest, stranger, admin = (
        await users.create(),
        await users.create(),
        await users.create(),
        await users.admin(),
    )
    meetup = await make_announcement(host)
    booking = (await book(client, guest, meetup.id)).json()
    path = f"/api/v1/bookings/{booking['id']}"
    for viewer in (guest, host, admin):
        assert (await client.get(path, headers=viewer.headers)).status_code == 200
    hidden = await client.get(path, headers=stranger.headers)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    assert (await client.get(path)).status_code == 401
    assert (
        await client.get(f"/api/v1/bookings/{uuid.uuid4()}", headers=guest.headers)
    ).status_code == 404


async def test_my_bookings_as_guest_and_as_host(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, ann, bob = await users.create(), await users.create(), await users.create()
    meetup = await make_announcement(host, approval="manual")
    other = await make_announcement(bob, event_time=meetup.event_time + timedelta(days=1))
    mine = (await book(client, ann, meetup.id)).json()
    await book(client, bob, meetup.id)
    await book(client, ann, other.id)

    as_guest = (await client.get("/api/v1/bookings", headers=ann.headers)).json()
    assert as_guest["total"] == 2
    assert {b["guest"]["id"] for b in as_guest["items"]} == {str(ann.id)}

    as_host = (await client.get("/api/v1/bookings?role=host", headers=host.headers)).json()
    assert as_host["total"] == 2
    assert {b["announcement"]["id"] for b in as_host["items"]} == {str(meetup.id)}

    filtered = (
        await client.get(
            f"/api/v1/bookings?announcement_id={meetup.id}&status=pending", headers=ann.headers
        )
    ).json()
    assert [b["id"] for b in filtered["items"]] == [mine["id"]]
    assert (await client.get("/api/v1/bookings?role=boss", headers=ann.headers)).status_code == 422


async def test_bookings_of_a_meetup_are_for_its_host_and_admins(
    client: httpx.AsyncClient, users: UserFactory, make_announcement: MakeAnnouncement
) -> None:
    host, guest, admin = await users.create(), await users.create(), await users.admin()
    meetup = await make_announcement(host)
    await book(client, guest, meetup.id)
    path = f"/api/v1/announcements/{meetup.id}/bookings"
    assert (await client.get(path, headers=host.headers)).json()["total"] == 1
    assert (await client.get(path, headers=admin.headers)).json()["total"] == 1
    refused = await client.get(path, headers=guest.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    unknown = f"/api/v1/announcements/{uuid.uuid4()}/bookings"
    assert (await client.get(unknown, headers=host.headers)).status_code == 404
