"""Cross-cutting HTTP behaviour: error bodies, request ids, health, readiness, metrics, OpenAPI."""

from __future__ import annotations

import logging

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.core.config import get_settings
from app.core.embedded import EmbeddedRedis
from app.main import create_app


async def test_unknown_route_is_404_with_error_body_and_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert len(response.headers["X-Request-ID"]) >= 16


async def test_wrong_method_is_405_with_error_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_request_id_from_the_client_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


async def test_each_request_gets_its_own_generated_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/health")
    second = await client.get("/health")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_postgres_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["services"] == {"postgres": "ok", "redis": "ok"}


async def test_ready_is_503_naming_redis_when_redis_is_down(
    app_with_own_redis: tuple[FastAPI, EmbeddedRedis],
) -> None:
    application, redis = app_with_own_redis
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://test"
    ) as http:
        assert (await http.get("/ready")).status_code == 200
        redis.stop()
        response = await http.get("/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "not_ready"
        assert body["services"] == {"postgres": "ok", "redis": "down"}
        assert "redis" in body["detail"]
        # Liveness does not depend on Redis.
        assert (await http.get("/health")).status_code == 200
        redis.start()
        assert (await http.get("/ready")).status_code == 200


async def test_unexpected_error_is_500_with_request_id_in_body_and_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    application = create_app(get_settings())

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application, raise_app_exceptions=False),
            base_url="http://test",
        ) as http,
    ):
        with caplog.at_level(logging.ERROR):
            response = await http.get("/boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "req-500"
    assert "secret internals" not in response.text
    assert response.headers["X-Request-ID"] == "req-500"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged, "the 500 must be logged"
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in logged)
    assert any("req-500" in str(r.msg) or "req-500" in r.getMessage() for r in logged)


async def test_metrics_counts_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'meetup_http_requests_total{method="GET",route="/health",status="200"}' in response.text


async def test_openapi_has_title_version_and_description(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["info"]["title"] == "Movie Meetup API"
    assert schema["info"]["version"]
    assert "Movie Meetup" in schema["info"]["description"]
    assert (await client.get("/docs")).status_code == 200


async def test_cors_allows_configured_origin_only() -> None:
    application = create_app(
        get_settings().model_copy(update={"cors_origins": ["https://front.example"]})
    )
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as http,
    ):
        allowed = await http.options(
            "/health",
            headers={"Origin": "https://front.example", "Access-Control-Request-Method": "GET"},
        )
        refused = await http.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://front.example"
    assert "access-control-allow-origin" not in refused.headers
