"""Security headers on every response: JSON routes, errors, the docs pages and the admin pages."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.core.config import get_settings
from app.main import create_app
from tests.support.factories import UserFactory

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_base_headers(response: httpx.Response) -> None:
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))


async def test_json_route_has_security_headers_and_the_strict_csp(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert_base_headers(response)
    assert response.headers["content-security-policy"] == API_CSP
    assert "strict-transport-security" not in response.headers
    assert "cache-control" not in response.headers


async def test_404_has_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert_base_headers(response)
    assert response.headers["content-security-policy"] == API_CSP


async def test_401_and_422_have_security_headers(client: httpx.AsyncClient) -> None:
    unauthenticated = await client.get("/api/v1/auth/me")
    invalid = await client.post("/api/v1/auth/register", json={"email": "nope"})
    for response in (unauthenticated, invalid):
        assert response.status_code in (401, 422)
        assert_base_headers(response)
        assert response.headers["content-security-policy"] == API_CSP


async def test_unexpected_500_has_security_headers() -> None:
    application = create_app(get_settings())

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application, raise_app_exceptions=False),
            base_url="http://test",
        ) as http,
    ):
        response = await http.get("/boom")
    assert response.status_code == 500
    assert_base_headers(response)
    assert response.headers["content-security-policy"] == API_CSP


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_docs_pages_get_a_csp_that_lets_them_load(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert_base_headers(response)
    csp = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split("; ")}
    # Swagger UI and ReDoc: bundles from the CDN, an inline bootstrap script, the schema fetched
    # from this origin; ReDoc runs a blob: worker and uses Google fonts.
    assert "https://cdn.jsdelivr.net" in directives["script-src"]
    assert "'unsafe-inline'" in directives["script-src"]
    assert "https://cdn.jsdelivr.net" in directives["style-src"]
    assert "'self'" in directives["connect-src"]
    assert "blob:" in directives["worker-src"]
    assert directives["frame-ancestors"] == ["'none'"]
    # Whatever the page loads from elsewhere is on the list.
    if "cdn.jsdelivr.net" in response.text:
        assert "https://cdn.jsdelivr.net" in csp


async def test_openapi_json_gets_the_strict_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.headers["content-security-policy"] == API_CSP


async def test_admin_pages_may_use_their_own_styles_and_forms(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_base_headers(response)
    csp = response.headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp


async def test_the_api_under_admin_keeps_the_strict_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/admin/analytics")
    assert response.status_code == 401
    assert response.headers["content-security-policy"] == API_CSP


async def test_hsts_only_when_the_request_came_over_https(client: httpx.AsyncClient) -> None:
    plain = await client.get("/health")
    forwarded = await client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in plain.headers
    assert forwarded.headers["strict-transport-security"].startswith("max-age=")
    transport = client._transport  # same app, https scheme in the ASGI scope
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as https:
        direct = await https.get("/health")
    assert direct.headers["strict-transport-security"].startswith("max-age=")


async def test_auth_responses_are_not_stored_by_caches(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    member = await users.create()
    login = await client.post(
        "/api/v1/auth/login", json={"email": member.email, "password": member.password}
    )
    me = await client.get("/api/v1/auth/me", headers=member.headers)
    failed = await client.post(
        "/api/v1/auth/login", json={"email": member.email, "password": "wrong password"}
    )
    assert (login.status_code, me.status_code, failed.status_code) == (200, 200, 401)
    for response in (login, me, failed):
        assert response.headers["cache-control"] == "no-store"
    other = await client.get(f"/api/v1/users/{member.id}")
    assert "no-store" not in other.headers.get("cache-control", "")


async def test_cors_preflight_carries_security_headers_too() -> None:
    application = create_app(
        get_settings().model_copy(update={"cors_origins": ["https://front.example"]})
    )
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as http,
    ):
        preflight = await http.options(
            "/api/v1/auth/login",
            headers={"Origin": "https://front.example", "Access-Control-Request-Method": "POST"},
        )
    assert preflight.status_code == 200
    assert_base_headers(preflight)
    assert preflight.headers["x-request-id"]
