"""/api/v1/admin/webhooks: register (the secret shown once), list, read, change, remove; who may;
which URLs are accepted, and the SSRF rule of production."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import get_settings
from app.webhooks import addresses
from app.webhooks.errors import WebhookUrlRefused
from tests.support.factories import UserFactory
from tests.webhooks.helpers import URL, register


async def test_an_admin_registers_an_endpoint_and_sees_the_secret_once(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    created = await register(
        client,
        admin,
        "https://hooks.example.com/meetup",
        ["booking_approved", "booking_requested", "booking_approved"],
        description="CRM",
    )
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) > 40
    assert created["events"] == ["booking_approved", "booking_requested"]  # no repeats
    assert (created["active"], created["description"]) == (True, "CRM")

    one = await client.get(f"{URL}/{created['id']}", headers=admin.headers)
    assert one.status_code == 200
    assert "secret" not in one.json()
    listed = (await client.get(URL, headers=admin.headers)).json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert listed["items"][0]["id"] == created["id"]


async def test_an_endpoint_is_changed_switched_off_and_removed(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    created = await register(client, admin, "http://hooks.example.com/a", ["booking_approved"])
    path = f"{URL}/{created['id']}"
    changed = await client.patch(
        path,
        headers=admin.headers,
        json={"url": "http://hooks.example.com/b", "events": ["announcement_created"]},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["url"], changed.json()["events"]) == (
        "http://hooks.example.com/b",
        ["announcement_created"],
    )
    off = await client.patch(path, headers=admin.headers, json={"active": False})
    assert off.json()["active"] is False
    assert off.json()["url"] == "http://hooks.example.com/b"  # unsent fields stay

    assert (await client.delete(path, headers=admin.headers)).status_code == 204
    assert (await client.get(path, headers=admin.headers)).status_code == 404
    assert (await client.delete(path, headers=admin.headers)).status_code == 404
    deliveries = await client.get(f"{path}/deliveries", headers=admin.headers)
    assert deliveries.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://hooks.example.com/x", "events": ["booking_approved"]},
        {"url": "hooks.example.com/x", "events": ["booking_approved"]},
        {"url": "http:///no-host", "events": ["booking_approved"]},
        {"url": "http://hooks.example.com:99999/x", "events": ["booking_approved"]},
        {"url": "http://hooks.example.com/a b", "events": ["booking_approved"]},
        {"url": "http://hooks.example.com/x", "events": []},
        {"url": "http://hooks.example.com/x", "events": ["no_such_kind"]},
        {"url": "http://hooks.example.com/x", "events": ["booking_approved"], "secret": "mine"},
    ],
)
async def test_bad_bodies_are_validation_errors(
    client: httpx.AsyncClient, users: UserFactory, body: dict[str, object]
) -> None:
    admin = await users.admin()
    response = await client.post(URL, headers=admin.headers, json=body)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_only_admins_manage_webhooks(client: httpx.AsyncClient, users: UserFactory) -> None:
    admin = await users.admin()
    created = await register(client, admin, "http://hooks.example.com/x", ["booking_approved"])
    some_id = created["id"]
    calls = [
        ("POST", URL, {"url": "http://hooks.example.com/y", "events": ["booking_approved"]}),
        ("GET", URL, None),
        ("GET", f"{URL}/{some_id}", None),
        ("PATCH", f"{URL}/{some_id}", {"active": False}),
        ("DELETE", f"{URL}/{some_id}", None),
        ("GET", f"{URL}/{some_id}/deliveries", None),
        ("POST", f"/api/v1/admin/webhook-deliveries/{uuid.uuid4()}/redeliver", None),
    ]
    member, moderator = await users.create(), await users.moderator()
    for method, path, body in calls:
        anonymous = await client.request(method, path, json=body)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
        for user in (member, moderator):
            refused = await client.request(method, path, json=body, headers=user.headers)
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    still = await client.get(f"{URL}/{some_id}", headers=admin.headers)
    assert still.json()["active"] is True


def test_the_addresses_refused_in_production() -> None:
    reasons = {
        "127.0.0.1": "loopback",
        "::1": "loopback",
        "::ffff:127.0.0.1": "loopback",
        "2002:7f00:1::1": "loopback",  # 6to4 of 127.0.0.1
        "10.1.2.3": "private",
        "192.168.0.10": "private",
        "172.16.5.4": "private",
        "169.254.169.254": "link-local",
        "fe80::1%eth0": "link-local",
        "224.0.0.1": "multicast",
        "239.255.255.250": "multicast",
        "ff02::1": "multicast",
        "0.0.0.0": "unspecified",
    }
    for address, why in reasons.items():
        assert addresses.refusal(address) == why, address
    for address in ("100.64.0.1", "240.0.0.1", "fd00::1", "2001:db8::1", "64:ff9b::7f00:1"):
        assert addresses.refusal(address) is not None, address  # shared, reserved, ...
    for public in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        assert addresses.refusal(public) is None, public


@contextlib.contextmanager
def settings_of(app: FastAPI, **changes: object) -> Iterator[None]:
    """The app's settings changed for a while (only the SSRF rule reads these here)."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update=changes)
    try:
        yield
    finally:
        app.state.settings = settings


@pytest.fixture
def production(app: FastAPI) -> Iterator[None]:
    with settings_of(app, env="production"):
        yield


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "https://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://224.0.0.1/hook",
        "http://no-such-host.invalid/hook",
    ],
)
async def test_production_refuses_receivers_on_private_addresses(
    client: httpx.AsyncClient, users: UserFactory, url: str
) -> None:
    admin = await users.admin()
    response = await client.post(
        URL, headers=admin.headers, json={"url": url, "events": ["booking_approved"]}
    )
    assert (response.status_code, response.json()["code"]) == (422, "webhook_url_refused")
    created = await register(client, admin, "http://8.8.8.8/hook", ["booking_approved"])
    moved = await client.patch(f"{URL}/{created['id']}", headers=admin.headers, json={"url": url})
    assert (moved.status_code, moved.json()["code"]) == (422, "webhook_url_refused")


async def test_webhook_allow_private_allows_them_in_production(
    app: FastAPI, client: httpx.AsyncClient, users: UserFactory
) -> None:
    admin = await users.admin()
    with settings_of(app, env="production", webhook_allow_private=True):
        await register(client, admin, "http://127.0.0.1:8080/hook", ["booking_approved"])


async def test_development_allows_private_receivers(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    assert get_settings().env == "test"
    admin = await users.admin()
    await register(client, admin, "http://127.0.0.1:8080/hook", ["booking_approved"])


async def test_an_enforced_check_pins_the_connection_to_the_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attempt connects to the address it checked, under the registered host's name."""
    settings = get_settings().model_copy(update={"env": "production"})
    monkeypatch.setattr(addresses, "refusal", lambda address: None)  # let loopback pass
    target = await addresses.check("https://localhost:8443/hook?x=1", settings)
    assert target.url.host in ("127.0.0.1", "::1")
    assert (target.url.port, target.url.path, target.url.query) == (8443, "/hook", b"x=1")
    assert target.headers == {"Host": "localhost:8443"}
    assert target.extensions == {"sni_hostname": "localhost"}
    monkeypatch.undo()
    with pytest.raises(WebhookUrlRefused):
        await addresses.check("https://localhost:8443/hook", settings)
