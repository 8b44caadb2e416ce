"""The `meetup` command in production: it never starts embedded servers, and an admin's password
need not appear on the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from app.core.config import Settings, get_settings
from app.core.db import Database
from app.models.users import Role, User

MEETUP = [sys.executable, "-m", "app.cli"]
PRODUCTION = {"ENV": "production", "SECRET_KEY": "x" * 40}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [*MEETUP, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args", [["migrate"], ["seed-demo"], ["create-admin", "--email", "a@example.org"]]
)
def test_production_commands_refuse_to_start_embedded_servers(
    args: list[str], tmp_path: os.PathLike[str]
) -> None:
    result = _run(
        args, {**PRODUCTION, "DATA_DIR": str(tmp_path), "MEETUP_ADMIN_PASSWORD": "long enough pw"}
    )
    assert result.returncode != 0
    assert "set DATABASE_URL and REDIS_URL" in result.stderr
    assert not any(os.scandir(tmp_path)), "nothing may be created in the data directory"


async def test_create_admin_takes_the_password_from_the_environment(db: Database) -> None:
    env = {
        "DATABASE_URL": get_settings().database_url or "",
        "MEETUP_ADMIN_PASSWORD": "s3cret-pass!",
    }
    result = _run(["create-admin", "--email", "boss@example.org"], env)
    assert result.returncode == 0, result.stderr
    assert "s3cret-pass!" not in result.stdout + result.stderr
    async with db.sessionmaker() as session:
        admin = await session.scalar(select(User).where(User.email == "boss@example.org"))
    assert admin is not None and admin.role == Role.admin


def test_create_admin_without_a_password_or_a_terminal_says_how_to_give_one() -> None:
    env = {"DATABASE_URL": get_settings().database_url or ""}
    result = _run(["create-admin", "--email", "boss@example.org"], env)
    assert result.returncode != 0
    assert "MEETUP_ADMIN_PASSWORD" in result.stderr


def test_links_follow_the_port_unless_a_public_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert Settings(_env_file=None, port=9123).public_base_url == "http://127.0.0.1:9123"
    assert (
        Settings(_env_file=None, host="0.0.0.0", port=80).public_base_url == "http://127.0.0.1:80"
    )
    given = Settings(_env_file=None, port=9123, public_base_url="https://meetup.example")
    assert given.public_base_url == "https://meetup.example"
