"""Screenshots of the main web pages for the README: `.venv/bin/python -m tests.web.screenshots`.

Starts throwaway embedded PostgreSQL and Redis (under a temporary directory, on free ports), fills
them with the demo data of `meetup seed-demo`, lets the worker deliver the notifications, serves
the app, signs in as the demo host Ann in headless Chromium and saves home, a meetup, /me,
/m/new and a film's reviews in English and Russian at desktop (1280x800) and phone (390x844) widths as
docs/screenshots/<page>-<lang>-<desktop|phone>.png.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from app.core.embedded import free_port

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOST_EMAIL = "ann@demo.example.com"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


async def _deliver_events(redis_url: str, seconds: float = 3.0) -> None:
    """A worker for a few seconds: the seeded outbox events become notifications."""
    from arq.worker import create_worker

    from app.core.redis import redis_settings
    from app.worker import WorkerSettings

    worker = create_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(redis_url),
        poll_delay=0.05,
        handle_signals=False,
        cron_jobs=[],
    )
    task = asyncio.create_task(worker.async_run())
    await asyncio.sleep(seconds)
    await worker.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _shoot(settings: object) -> list[Path]:
    from asgi_lifespan import LifespanManager
    from sqlalchemy import select
    from sqlmodel import col

    from app.core.config import Settings
    from app.core.db import Database
    from app.main import create_app
    from app.models.announcements import Announcement
    from app.models.movies import Movie
    from app.seed.demo import DEMO_PASSWORD, seed_demo
    from tests.support.browser import find_chromium, launch, serve

    assert isinstance(settings, Settings) and settings.database_url and settings.redis_url
    await seed_demo(settings)
    db = Database.from_url(settings.database_url, settings)
    try:
        async with db.sessionmaker() as session:
            meetup_id = (
                await session.execute(
                    select(col(Announcement.id)).where(
                        col(Announcement.title) == "Stalker at Ann's"
                    )
                )
            ).scalar_one()
            film_id = (
                await session.execute(select(col(Movie.id)).where(col(Movie.title) == "Stalker"))
            ).scalar_one()
    finally:
        await db.dispose()

    app = create_app(settings)
    saved: list[Path] = []
    OUT.mkdir(parents=True, exist_ok=True)
    async with LifespanManager(app), serve(app) as url, launch(find_chromium()) as first:
        await _deliver_events(settings.redis_url)
        for lang in ("en", "ru"):
            tab = first if lang == "en" else await first.new_tab()
            await tab.open(f"{url}/login?lang={lang}")
            await tab.fill({"email": HOST_EMAIL, "password": DEMO_PASSWORD})
            await tab.click("main form button[type=submit]")
            assert await tab.path() == "/me", await tab.text()
            for size, (width, height) in SIZES.items():
                await tab.viewport(width, height, mobile=size == "phone")
                for name, page in (
                    ("home", "/"),
                    ("meetup", f"/m/{meetup_id}"),
                    ("me", "/me"),
                    ("new", "/m/new"),
                    ("film", f"/films/{film_id}#mine"),  # Ann's review, others' with Like
                ):
                    await tab.open(f"{url}{page}")
                    path = OUT / f"{name}-{lang}-{size}.png"
                    path.write_bytes(await tab.screenshot(full_page=False))
                    saved.append(path)
    return saved


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="meetup-screenshots-"))
    os.environ.update(
        ENV="development",
        DATA_DIR=str(data_dir),
        EMBEDDED_POSTGRES_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        LOG_LEVEL="WARNING",
    )
    for name in ("DATABASE_URL", "REDIS_URL", "SMTP_HOST"):
        os.environ.pop(name, None)

    from app.cli import migrate, services
    from app.core.config import get_settings
    from app.core.logging import configure_logging

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("WARNING", "console")
    try:
        with services(settings) as live:
            migrate(live)
            saved = asyncio.run(_shoot(live))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    for path in saved:
        print(path.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    main()
