"""The `meetup` command: dev, serve, worker, migrate, create-admin, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging, get_logger

log = get_logger("app.cli")


@contextlib.contextmanager
def services(settings: Settings, *, need_redis: bool = True) -> Iterator[Settings]:
    """Yield settings with both URLs set, starting embedded servers for the ones that are missing.

    The servers stop when the block exits, whatever the reason.
    """
    if settings.database_url and (settings.redis_url or not need_redis):
        yield settings
        return
    if settings.env == "production":
        sys.exit(
            "ENV=production: set DATABASE_URL and REDIS_URL (the embedded servers are for "
            "development and tests only)"
        )
    from app.core.embedded import EmbeddedServices

    embedded = EmbeddedServices(
        data_dir=settings.data_dir,
        postgres_port=settings.embedded_postgres_port,
        redis_port=settings.embedded_redis_port,
        start_postgres=settings.database_url is None,
        start_redis=need_redis and settings.redis_url is None,
    )
    embedded.start()
    try:
        database_url = settings.database_url or embedded.postgres.url
        urls = {
            "database_url": database_url,
            "redis_url": settings.redis_url or (embedded.redis.url if need_redis else None),
        }
        # The environment too, so that code reading get_settings() (the worker) sees the same.
        os.environ["DATABASE_URL"] = database_url
        if urls["redis_url"]:
            os.environ["REDIS_URL"] = urls["redis_url"]
        get_settings.cache_clear()
        yield settings.model_copy(update=urls)
    finally:
        embedded.stop()


def migrate(settings: Settings) -> None:
    from app.core.migrations import upgrade

    assert settings.database_url
    upgrade(settings.database_url)
    log.info("migrations_applied")


class _Server(uvicorn.Server):
    """uvicorn, minus its own signal handling: `dev` stops the API, the worker and the servers in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _run_api_and_worker(settings: Settings) -> None:
    from arq.worker import create_worker

    from app.core.redis import redis_settings
    from app.main import create_app
    from app.worker import WorkerSettings

    assert settings.redis_url
    server = _Server(
        uvicorn.Config(
            create_app(settings), host=settings.host, port=settings.port, log_config=None
        )
    )
    # arq's WorkerSettingsBase protocol wants instance attributes; ours are class attributes.
    worker = create_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings.redis_url),
        handle_signals=False,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    api_task = asyncio.create_task(server.serve(), name="api")
    worker_task = asyncio.create_task(worker.async_run(), name="worker")
    stopper = asyncio.create_task(stop.wait(), name="stop")
    log.info("dev_ready", url=f"http://{settings.host}:{settings.port}", docs="/docs")
    done, _ = await asyncio.wait(
        {api_task, worker_task, stopper}, return_when=asyncio.FIRST_COMPLETED
    )
    log.info("dev_stopping")
    server.should_exit = True  # finish in-flight requests, then stop
    worker.allow_pick_jobs = False
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(api_task), timeout=15)
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(worker.close(), timeout=15)
    worker_task.cancel()
    stopper.cancel()
    for task in done:
        if task is not stopper and not task.cancelled() and (error := task.exception()):
            raise error


def _sigterm_as_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def cmd_dev(settings: Settings, _: argparse.Namespace) -> None:
    # Until the event loop takes over signals, SIGTERM must unwind like Ctrl-C so the
    # embedded servers are stopped by `services` instead of being left behind.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    with services(settings) as live:
        migrate(live)
        asyncio.run(_run_api_and_worker(live))


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


@contextlib.contextmanager
def _multiprocess_metrics(workers: int) -> Iterator[None]:
    """With several processes, /metrics adds all of them up (app/core/metrics.py): a fresh
    directory for their files, set before any process imports prometheus_client. An operator's
    PROMETHEUS_MULTIPROC_DIR is used instead, emptied first as prometheus_client requires."""
    from app.core.metrics import MULTIPROC_ENV

    configured = os.environ.get(MULTIPROC_ENV)
    if workers <= 1 and not configured:
        yield
        return
    directory = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="meetup-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield
    finally:
        if not configured:
            shutil.rmtree(directory, ignore_errors=True)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    if not settings.database_url or not settings.redis_url:
        sys.exit(
            "meetup serve needs DATABASE_URL and REDIS_URL (use `meetup dev` for embedded ones)"
        )
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal to the handler that
    # was there before it: make that a clean exit (status 0), not death by signal (143).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with _multiprocess_metrics(args.workers):
        uvicorn.run(
            "app.main:build",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            log_config=None,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            forwarded_allow_ips=args.forwarded_allow_ips,
            access_log=not args.no_access_log,
        )


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from arq.worker import run_worker

    from app.core.redis import redis_settings
    from app.worker import WorkerSettings

    if not settings.database_url or not settings.redis_url:
        sys.exit("meetup worker needs DATABASE_URL and REDIS_URL")
    if args.check:
        sys.exit(asyncio.run(_check_workers_on_this_host(settings.redis_url)))
    # arq's WorkerSettingsBase protocol wants instance attributes; ours are class attributes.
    run_worker(WorkerSettings, redis_settings=redis_settings(settings.redis_url))  # type: ignore[arg-type]


async def _check_workers_on_this_host(redis_url: str) -> int:
    """0 if a worker process on this host reported within its health-check interval, else 1: the
    container healthcheck of docker-compose.yml (each worker writes its own key)."""
    import socket

    from redis.asyncio import Redis

    from app.core.redis import WORKER_HEALTH_PREFIX

    client = Redis.from_url(redis_url)
    try:
        pattern = f"{WORKER_HEALTH_PREFIX}{socket.gethostname()}:*"
        async for key in client.scan_iter(match=pattern, count=100):
            print(f"alive: {key.decode().removeprefix(WORKER_HEALTH_PREFIX)}")
            return 0
    finally:
        await client.aclose()
    print("no worker on this host reported within its health-check interval")
    return 1


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> None:
    with services(settings, need_redis=False) as live:
        migrate(live)


ADMIN_PASSWORD_ENV = "MEETUP_ADMIN_PASSWORD"


def _admin_password(given: str | None) -> str:
    """--password if given (it shows in `ps` and the shell's history), else the environment
    variable MEETUP_ADMIN_PASSWORD, else a prompt (asked twice, not echoed)."""
    if given:
        return given
    if from_env := os.environ.get(ADMIN_PASSWORD_ENV):
        return from_env
    if not sys.stdin.isatty():
        sys.exit(f"give the password in {ADMIN_PASSWORD_ENV}, or run in a terminal to be asked")
    first = getpass.getpass("Password for the admin: ")
    if getpass.getpass("Again: ") != first:
        sys.exit("the two passwords differ")
    return first


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from app.users.admin_cli import create_admin

    password = _admin_password(args.password)
    with services(settings, need_redis=False) as live:
        migrate(live)
        user = asyncio.run(create_admin(live, email=args.email, password=password, name=args.name))
        print(f"admin {user.email} ready (id {user.id})")


def cmd_seed_demo(settings: Settings, _: argparse.Namespace) -> None:
    from app.seed.demo import DEMO_PASSWORD, seed_demo

    with services(settings, need_redis=False) as live:
        migrate(live)
        report = asyncio.run(seed_demo(live))
    print(f"movies added: {report.movies_added}")
    if report.users_created:
        print(
            f"meetups: {report.announcements_created}, bookings: {report.bookings_created}, "
            f"film reviews: {report.film_reviews_created}; "
            f"demo accounts (password {DEMO_PASSWORD!r}): {', '.join(report.users_created)}"
        )
    else:
        print("demo accounts and meetups were already there: left as they are")


COMMANDS: dict[str, tuple[Any, str]] = {
    "dev": (cmd_dev, "embedded PostgreSQL and Redis (unless URLs are set), migrate, API + worker"),
    "serve": (cmd_serve, "the API only, on external services"),
    "worker": (cmd_worker, "the arq worker only"),
    "migrate": (cmd_migrate, "apply database migrations (alembic upgrade head)"),
    "create-admin": (cmd_create_admin, "create an admin account, or promote an existing one"),
    "seed-demo": (cmd_seed_demo, "add a film catalog, demo accounts and meetups (safe to re-run)"),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="meetup", description="Movie Meetup backend")
    sub = root.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "serve":
            command.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
            command.add_argument(
                "--forwarded-allow-ips",
                default="127.0.0.1",
                help="proxies trusted for X-Forwarded-For (nginx's address)",
            )
            command.add_argument("--no-access-log", action="store_true")
        if name == "worker":
            command.add_argument(
                "--check",
                action="store_true",
                help="exit 0 if a worker on this host is alive (a container healthcheck)",
            )
        if name == "create-admin":
            command.add_argument("--email", required=True)
            command.add_argument(
                "--password",
                help=f"visible to other users in `ps`: prefer {ADMIN_PASSWORD_ENV} or the prompt",
            )
            command.add_argument("--name", default="Admin")
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    handler, _ = COMMANDS[args.command]
    handler(settings, args)


if __name__ == "__main__":
    main()
