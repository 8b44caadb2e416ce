"""The FastAPI application: lifespan (database, Redis), middleware, error handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from app import __version__, api_schema
from app import models as _tables  # noqa: F401  # every table registered before the first query
from app.admin.console import router as admin_console_router
from app.admin.pages import router as admin_pages_router
from app.admin.router import router as admin_router
from app.announcements.router import router as announcements_router
from app.announcements.router import short_links_router
from app.auth.router import router as auth_router
from app.bookings.router import router as bookings_router
from app.core import metrics
from app.core.body_limit import BodyLimitMiddleware
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging, get_logger
from app.core.middleware import RequestContextMiddleware
from app.core.redis import create_redis
from app.core.security_headers import SecurityHeadersMiddleware
from app.movies.router import router as movies_router
from app.notifications.router import router as notifications_router
from app.ops.router import router as ops_router
from app.reviews.router import router as reviews_router
from app.users.router import router as users_router
from app.web.router import router as web_router
from app.web.router import static_files
from app.webhooks.router import router as webhooks_router

log = get_logger(__name__)

API_PREFIX = "/api/v1"

DESCRIPTION = """
Movie Meetup: hosts announce film screenings ("Stalker, Friday 19:00, my place, 4 seats"),
guests find them and request seats, hosts approve, nobody is overbooked, everyone is reminded,
and afterwards host and guests rate each other.

Errors are `{"detail": "...", "code": "..."}`; every response carries `X-Request-ID`. To generate
a client from this schema, see docs/clients.md.
Authenticate with `Authorization: Bearer <access token>` (the **Authorize** button uses
`POST /api/v1/auth/token`).
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError(
            "DATABASE_URL and REDIS_URL must be set for `meetup serve`; "
            "`meetup dev` starts embedded ones for you"
        )
    app.state.db = Database.from_url(settings.database_url, settings)
    app.state.redis = create_redis(settings.redis_url)
    log.info("api_started", version=__version__, env=settings.env)
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await app.state.db.dispose()
        metrics.process_exiting()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Movie Meetup API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=api_schema.operation_id,
        servers=[{"url": "/", "description": "This server"}],
        license_info={"name": "MIT", "identifier": "MIT"},
    )
    api_schema.document(app)
    app.state.settings = settings
    install_error_handlers(app)
    # Inside CORS, so that a 413 carries the CORS headers a browser needs to read it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Outside CORS, so that preflight answers carry them too.
    app.add_middleware(
        SecurityHeadersMiddleware,
        docs_paths=(app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url),
    )
    # Added last, so it is the outermost: every response (even a 500 or a CORS refusal) gets the id.
    app.add_middleware(RequestContextMiddleware)
    for root_router in (ops_router, short_links_router, admin_pages_router, admin_console_router):
        _summaries_from_docstrings(root_router)
        app.include_router(root_router)
    for router in (
        auth_router,
        users_router,
        movies_router,
        announcements_router,
        bookings_router,
        reviews_router,
        notifications_router,
        admin_router,
        webhooks_router,
    ):
        _summaries_from_docstrings(router)
        app.include_router(router, prefix=API_PREFIX)
    # The server-rendered pages (app/web) and their assets, after the API.
    app.include_router(web_router)
    app.mount("/static", static_files(), name="static")
    return app


def _summaries_from_docstrings(router: APIRouter) -> None:
    """Each route's one-line docstring is its OpenAPI summary (FastAPI would use the name)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.summary is None and route.description:
            route.summary = route.description.strip().splitlines()[0]


def build() -> FastAPI:
    """Entry point for uvicorn's factory mode (`app.main:build`)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


app = create_app()
