"""Run Alembic from code (the CLI, `meetup dev` and the tests), with an explicit database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import app


def _alembic_ini() -> Path:
    """alembic.ini in the working directory (the Docker image), else next to the `app` package."""
    for candidate in (Path.cwd() / "alembic.ini", Path(app.__file__).parent.parent / "alembic.ini"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("alembic.ini not found in the working directory or the project root")


def alembic_config(database_url: str) -> Config:
    config = Config(str(_alembic_ini()))
    config.attributes["database_url"] = database_url
    # The app configured logging already; don't let alembic.ini's fileConfig replace it.
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking (Alembic's async env runs its own event loop): call via asyncio.to_thread from async code."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
