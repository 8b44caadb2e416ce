"""Which receivers the worker may call: the server-side request forgery rule.

With `ENV=production`, unless `WEBHOOK_ALLOW_PRIVATE=true`, a receiver's host is resolved and
every address it resolves to must be public: not loopback, private, shared (100.64/10),
link-local, multicast, reserved or unspecified (an IPv4-mapped or 6to4 IPv6 address counts as
the IPv4 address inside it). It is checked when an endpoint is registered or its URL changed, and again before every
attempt, which then connects to the address it checked (so a DNS answer that changes between the
check and the connection cannot point it elsewhere). In development and test every address is
allowed (receivers on 127.0.0.1). Only http and https URLs are accepted anywhere (the schemas).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from app.core.config import Settings
from app.core.i18n import N_
from app.webhooks.errors import WebhookUrlRefused

RESOLVE_TIMEOUT_S = 5.0


def enforced(settings: Settings) -> bool:
    return settings.env == "production" and not settings.webhook_allow_private


def refusal(address: str) -> str | None:
    """Why `address` may not be called, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope id is not part of it
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour  # ::ffff:a.b.c.d, 2002:AABB:CCDD::/48
        if embedded is not None:
            ip = embedded
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),  # is_global is true for some multicast ranges
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    )
    for name, applies in checks:
        if applies:
            return name
    return None if ip.is_global else "not public"


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an address literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise WebhookUrlRefused(
            N_("The host {host} does not resolve."), params={"host": host}
        ) from exc
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookUrlRefused(N_("The host {host} does not resolve."), params={"host": host})
    return addresses


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL as registered, or (rule enforced) the same URL on the
    checked address, with the Host header and the TLS server name of the registered host."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


async def check(url: str, settings: Settings) -> Target:
    """Raise `WebhookUrlRefused` if the rule forbids `url`; else where to connect."""
    parsed = httpx.URL(url)
    if not enforced(settings):
        return Target(parsed, {}, {})
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded, as DNS and TLS want it
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await resolve(host, port)
    for address in addresses:
        if (why := refusal(address)) is not None:
            raise WebhookUrlRefused(
                f"The host {host} resolves to {address}, a {why} address: webhook receivers "
                "must be on public addresses (WEBHOOK_ALLOW_PRIVATE allows others)."
            )
    pinned = parsed.copy_with(host=addresses[0])
    extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
    return Target(pinned, {"Host": parsed.netloc.decode("ascii").rsplit("@", 1)[-1]}, extensions)
