"""Deliveries to a real HTTP receiver on 127.0.0.1, by the real arq worker: signed as Standard
Webhooks, exactly one per (event, endpoint), retried with backoff while the receiver is down or
failing, then failed; shown by the API and on /admin; redelivered on request; never in the
request that caused the event; refused at delivery time by the production SSRF rule."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks import Webhook

from app.models.webhooks import DeliveryStatus
from app.webhooks import dispatch, tasks
from tests.notifications.helpers import (
    BackgroundWorker,
    RunWorker,
    record_event,
    run_sweep,
    worker_ctx,
)
from tests.support.clock import TestClock
from tests.support.factories import TestUser, UserFactory
from tests.support.meetups import Meetups
from tests.webhooks.helpers import URL, Receiver, deliveries, delivery, register

KIND = "booking_approved"


async def _admin_and_endpoint(
    client: httpx.AsyncClient, users: UserFactory, receiver: Receiver, **extra: object
) -> tuple[TestUser, dict[str, object]]:
    admin = await users.admin()
    return admin, await register(client, admin, receiver.url(), [KIND], **extra)


async def test_a_delivery_is_signed_as_standard_webhooks_and_carries_the_event(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
) -> None:
    _, endpoint = await _admin_and_endpoint(client, users, receiver)
    actor = await users.create()
    event_id = await record_event(app, KIND, actor_id=actor.id, payload={"seats": 2})
    await run_worker()

    [request] = receiver.received
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == str(event_id)
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]+=*", request.headers["webhook-signature"])
    # The reference library verifies it (signature and timestamp tolerance)...
    body = Webhook(str(endpoint["secret"])).verify(request.body, request.headers)
    assert body["type"] == KIND
    assert body["data"] == {
        "id": str(event_id),
        "announcement_id": None,
        "booking_id": None,
        "actor_id": str(actor.id),
        "payload": {"seats": 2},
    }
    assert body["timestamp"].endswith("+00:00")
    # ...and so does a receiver with hmac alone (docs/webhooks.md's second snippet).
    key = base64.b64decode(str(endpoint["secret"]).removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + request.body, hashlib.sha256).digest())
    assert hmac.compare_digest(
        request.headers["webhook-signature"].split(",", 1)[1].encode(), expected
    )
    # A wrong secret does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(
            request.body, request.headers
        )

    [row] = await deliveries(app)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.delivered, 1, 200)
    assert row.next_attempt_at is None and row.delivered_at is not None


async def test_only_subscribed_active_endpoints_that_existed_receive_an_event(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    admin = await users.admin()
    early = await record_event(app, KIND)  # before any endpoint: nobody gets it
    clock.advance(seconds=1)
    await register(client, admin, receiver.url("/approved"), [KIND])
    await register(client, admin, receiver.url("/cancelled"), ["booking_cancelled"])
    off = await register(client, admin, receiver.url("/off"), [KIND, "booking_cancelled"])
    await client.patch(f"{URL}/{off['id']}", headers=admin.headers, json={"active": False})
    clock.advance(seconds=1)
    approved = await record_event(app, KIND)
    cancelled = await record_event(app, "booking_cancelled", payload={"by": "guest"})
    await record_event(app, "booking_rejected")  # nobody subscribed
    await run_worker()
    got = sorted((r.path, r.headers["webhook-id"]) for r in receiver.received)
    assert got == sorted([("/approved", str(approved)), ("/cancelled", str(cancelled))])
    assert str(early) not in receiver.ids()


async def test_each_event_is_delivered_once_per_endpoint_however_often_it_is_dispatched(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    admin = await users.admin()
    await register(client, admin, receiver.url("/a"), [KIND])
    await register(client, admin, receiver.url("/b"), [KIND])
    clock.advance(seconds=1)
    event_ids = [await record_event(app, KIND) for _ in range(3)]
    ctx = worker_ctx(app)
    # Concurrent dispatches of the same events (jobs run twice, two workers), then the sweep.
    await asyncio.gather(
        *(dispatch.dispatch_webhooks(ctx, str(e)) for e in event_ids for _ in range(3))
    )
    clock.advance(minutes=2)
    await run_sweep(app)
    await run_worker()
    rows = await deliveries(app)
    assert len(rows) == 6
    assert len({(row.event_id, row.endpoint_id) for row in rows}) == 6
    # Two jobs for one delivery at the same moment: one claim wins, one request is sent.
    again = await record_event(app, KIND)
    await dispatch.dispatch_webhooks(ctx, str(again))
    [first, second] = [row for row in await deliveries(app) if row.event_id == again]
    await asyncio.gather(*(tasks.deliver_webhook(ctx, str(first.id)) for _ in range(4)))
    await run_worker()
    clock.advance(minutes=5)
    await run_sweep(app)
    await run_worker()
    assert sorted(receiver.ids()) == sorted(str(e) for e in [*event_ids, again] for _ in "ab")
    assert all(r.status == DeliveryStatus.delivered for r in await deliveries(app))
    assert second.id != first.id


async def test_a_receiver_down_for_a_while_gets_each_event_later_exactly_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    admin, endpoint = await _admin_and_endpoint(client, users, receiver)
    await receiver.stop()
    clock.advance(seconds=1)
    event_ids = [await record_event(app, KIND, payload={"n": n}) for n in range(3)]
    await run_worker()
    for _ in range(2):  # two more failed attempts, each after its backoff
        clock.advance(minutes=15)
        await run_sweep(app)
        await run_worker()
    rows = await deliveries(app)
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.pending, 3)}
    assert all(r.last_error and r.last_error.startswith("connection failed") for r in rows)
    assert all(r.next_attempt_at and r.next_attempt_at > clock.now for r in rows)
    listed = await client.get(f"{URL}/{endpoint['id']}/deliveries", headers=admin.headers)
    assert {item["last_status_code"] for item in listed.json()["items"]} == {None}

    await receiver.start()  # back on the same port
    clock.advance(hours=1)
    await run_sweep(app)
    await run_worker()
    for _ in range(3):  # later sweeps and stale jobs send nothing again
        clock.advance(hours=13)
        await run_sweep(app)
        await run_worker()
    assert sorted(receiver.ids()) == sorted(str(e) for e in event_ids)
    assert {(r.status, r.attempts) for r in await deliveries(app)} == {
        (DeliveryStatus.delivered, 4)
    }


async def test_a_failing_receiver_is_retried_with_backoff_then_failed_and_redelivered(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
    clock: TestClock,
) -> None:
    admin, endpoint = await _admin_and_endpoint(client, users, receiver)
    receiver.status = 500
    clock.advance(seconds=1)
    event_id = await record_event(app, KIND)
    await run_worker()
    [row] = await deliveries(app)
    waits = []
    while row.status == DeliveryStatus.pending:
        assert row.next_attempt_at is not None and row.last_attempt_at is not None
        waits.append(row.next_attempt_at - row.last_attempt_at)
        clock.set(row.next_attempt_at + dispatch.GRACE + timedelta(seconds=1))
        await run_sweep(app)
        await run_worker()
        row = await delivery(app, row.id)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.failed, 10, 500)
    assert row.next_attempt_at is None
    assert len(receiver.received) == 10
    # Backoff: each wait at least its step of the schedule, at most 20 % longer, 24 h at least.
    for wait, step in zip(waits, tasks.RETRY_DELAYS, strict=True):
        assert step <= wait <= step * 1.2 + timedelta(seconds=1)
    assert sum(waits, timedelta()) >= timedelta(hours=24)

    listed = await client.get(f"{URL}/{endpoint['id']}/deliveries", headers=admin.headers)
    [item] = listed.json()["items"]
    assert (item["event_id"], item["event_kind"], item["status"]) == (str(event_id), KIND, "failed")
    assert (item["attempts"], item["last_status_code"], item["next_attempt_at"]) == (10, 500, None)

    receiver.status = 204
    path = f"/api/v1/admin/webhook-deliveries/{row.id}/redeliver"
    redelivered = await client.post(path, headers=admin.headers)
    assert redelivered.status_code == 202, redelivered.text
    assert (redelivered.json()["status"], redelivered.json()["attempts"]) == ("pending", 0)
    await run_worker()
    row = await delivery(app, row.id)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.delivered, 1, 204)
    assert receiver.ids() == [str(event_id)] * 11
    # A delivered one can be sent again too (the receiver lost it); an unknown one is 404.
    assert (await client.post(path, headers=admin.headers)).status_code == 202
    await run_worker()
    assert len(receiver.received) == 12
    unknown = await client.post(
        f"/api/v1/admin/webhook-deliveries/{uuid.uuid4()}/redeliver", headers=admin.headers
    )
    assert unknown.status_code == 404


async def test_a_slow_receiver_holds_up_neither_the_request_nor_other_receivers(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    meetups: Meetups,
    receiver: Receiver,
) -> None:
    admin = await users.admin()
    receiver.delay = 5.0
    fast = Receiver()
    await fast.start()
    await register(client, admin, receiver.url("/slow"), ["booking_requested"])
    await register(client, admin, fast.url("/fast"), ["booking_requested"])
    host, guests = await users.create(), [await users.create() for _ in range(2)]
    meetup = await meetups.create(host)
    worker = BackgroundWorker()
    try:
        started = time.monotonic()
        first = await client.post(
            f"/api/v1/announcements/{meetup.id}/bookings",
            headers=guests[0].headers,
            json={"seats": 1},
        )
        assert first.status_code == 201, first.text
        # The worker is now waiting on the slow receiver; the next request does not.
        for _ in range(300):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        assert receiver.received, "the slow receiver got nothing"
        second = await client.post(
            f"/api/v1/announcements/{meetup.id}/bookings",
            headers=guests[1].headers,
            json={"seats": 1},
        )
        assert second.status_code == 201
        for _ in range(300):
            if len(fast.received) == 2:
                break
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        assert len(fast.received) == 2, "the fast receiver waited for the slow one"
        assert elapsed < 4.0, elapsed  # both requests and both fast deliveries, before 5 s
    finally:
        await worker.kill()
        await fast.stop()


async def test_production_refuses_a_private_receiver_at_delivery_time_too(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
) -> None:
    """Registered while allowed (or a DNS answer that changed since): not sent, recorded."""
    await _admin_and_endpoint(client, users, receiver)
    event_id = await record_event(app, KIND)
    ctx = worker_ctx(app)
    await dispatch.dispatch_webhooks(ctx, str(event_id))
    [row] = await deliveries(app)
    ctx["settings"] = ctx["settings"].model_copy(update={"env": "production"})
    assert await tasks.deliver_webhook(ctx, str(row.id)) == "retry"
    row = await delivery(app, row.id)
    assert row.last_error is not None and "loopback" in row.last_error
    assert row.status == DeliveryStatus.pending and row.attempts == 1
    assert receiver.received == []
    assert event_id == row.event_id


async def test_the_admin_page_lists_deliveries_with_a_redeliver_button(
    app: FastAPI,
    client: httpx.AsyncClient,
    users: UserFactory,
    receiver: Receiver,
    run_worker: RunWorker,
) -> None:
    admin, _ = await _admin_and_endpoint(client, users, receiver)
    receiver.status = 503
    await record_event(app, KIND)
    await run_worker()
    [row] = await deliveries(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as browser:
        login = await browser.get("/admin/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token
        signed_in = await browser.post(
            "/admin/login",
            data={"email": admin.email, "password": admin.password, "csrf_token": token[1]},
        )
        assert signed_in.status_code == 303
        page = (await browser.get("/admin")).text
        section = page.split('id="webhook-deliveries"', 1)[1].split("</section>", 1)[0]
        assert receiver.url() in section and KIND in section
        assert "pending" in section and "HTTP 503" in section
        assert f'action="/admin/webhook-deliveries/{row.id}/redeliver"' in section
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', section)
        assert csrf

        forged = await browser.post(
            f"/admin/webhook-deliveries/{row.id}/redeliver", data={"csrf_token": "nope"}
        )
        assert forged.status_code == 403
        receiver.status = 200
        pressed = await browser.post(
            f"/admin/webhook-deliveries/{row.id}/redeliver",
            data={"csrf_token": csrf[1], "next": "/admin"},  # as the overview's form sends it
        )
        assert pressed.status_code == 303
        assert pressed.headers["location"] == f"/admin?done=redelivered&id={row.id}"
        await run_worker()
        page = (await browser.get(pressed.headers["location"])).text
        assert f"Delivery {row.id} will be sent again now." in page
        section = page.split('id="webhook-deliveries"', 1)[1].split("</section>", 1)[0]
        assert "delivered" in section
    assert len(receiver.received) == 2
