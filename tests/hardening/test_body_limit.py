"""Request bodies above MAX_BODY_BYTES (1 MiB by default) are refused with 413."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from asgi_lifespan import LifespanManager

from app.core.config import get_settings
from app.main import create_app

MIB = 1024 * 1024


def big_registration(size: int) -> bytes:
    body = {"email": "big@example.com", "password": "correct horse battery", "name": "x" * size}
    return json.dumps(body).encode()


async def in_chunks(data: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


def assert_payload_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert body["detail"]
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_body_with_a_content_length_over_the_limit_is_413(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=big_registration(MIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" in response.request.headers
    assert_payload_too_large(response)


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=in_chunks(big_registration(MIB + 1)),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_payload_too_large(response)


async def test_chunked_form_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    form = b"username=a%40example.com&password=" + b"x" * (MIB + 1)
    response = await client.post(
        "/api/v1/auth/token",
        content=in_chunks(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_payload_too_large(response)


async def test_body_just_under_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    body = big_registration(MIB - 200)
    assert len(body) <= MIB
    response = await client.post(
        "/api/v1/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    # The route's own validation answers (the name is far too long), not the size limit.
    assert response.status_code == 422


async def test_chunked_body_under_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=in_chunks(big_registration(10)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_limit_follows_the_max_body_bytes_setting() -> None:
    application = create_app(get_settings().model_copy(update={"max_body_bytes": 100}))
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as http,
    ):
        small = await http.post("/api/v1/auth/login", json={"email": "a@b.co", "password": "x"})
        large = await http.post(
            "/api/v1/auth/login", json={"email": "a@b.co", "password": "x" * 200}
        )
    assert small.status_code != 413
    assert_payload_too_large(large)
