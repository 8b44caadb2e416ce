"""The deployment files: docker-compose.yml, Dockerfile, .dockerignore and nginx.conf.

Self-contained on purpose (no database, no fixtures from tests/conftest.py): Docker is not available
where the tests run, so the compose file and the Dockerfile are checked by reading them, and the
nginx config by the real nginx (`nginx -t`, then a short-lived nginx on loopback in front of a stub
upstream, which checks what the config promises: proxy headers, request ids, rate limit, /metrics).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.system_tools import require_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
NGINX_CONF = ROOT / "nginx.conf"

APP_SERVICES = ("migrate", "api", "worker")
LONG_RUNNING = ("postgres", "redis", "api", "worker", "nginx")
UPSTREAM_IN_CONF = "server api:8000 resolve;"
LISTEN_IN_CONF = "listen 80 default_server;"


# --- docker-compose.yml -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # safe_load resolves the YAML anchors and `<<` merge keys that share the app services' settings.
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def test_compose_uses_the_compose_spec_without_a_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_compose_has_exactly_the_production_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "api", "worker", "nginx"}


@pytest.mark.parametrize(
    ("service", "command"),
    [("api", "meetup serve"), ("worker", "meetup worker"), ("migrate", "meetup migrate")],
)
def test_app_service_runs_its_meetup_command(
    compose: dict[str, Any], service: str, command: str
) -> None:
    actual = _command(compose["services"][service])
    # The API may add flags (it does: --forwarded-allow-ips); the subcommand is what matters.
    assert actual == command or actual.startswith(command + " "), actual


def test_app_services_share_one_image_and_run_in_production(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1
    for name in APP_SERVICES:
        assert services[name]["environment"]["ENV"] == "production", name
        assert services[name]["build"], name


def test_api_listens_on_all_interfaces_inside_its_container(compose: dict[str, Any]) -> None:
    assert compose["services"]["api"]["environment"]["HOST"] == "0.0.0.0"


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_service_has_a_healthcheck(compose: dict[str, Any], service: str) -> None:
    healthcheck = compose["services"][service].get("healthcheck")
    assert healthcheck, f"{service} has no healthcheck"
    assert not healthcheck.get("disable"), f"{service} disables its healthcheck"
    assert healthcheck.get("test"), f"{service} healthcheck has no test"


def test_long_running_services_restart_and_migrate_does_not(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in LONG_RUNNING:
        assert services[name].get("restart") == "unless-stopped", name
    # Quoted in YAML: a bare `no` would be the boolean false.
    assert services["migrate"]["restart"] == "no"


def test_services_start_in_dependency_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    for name in ("api", "worker"):
        deps = _depends_on(services[name])
        assert deps["migrate"] == "service_completed_successfully", name
        assert deps["redis"] == "service_healthy", name
    assert _depends_on(services["nginx"]) == {"api": "service_healthy"}


def test_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    mounts = {
        "postgres": "/var/lib/postgresql/data",
        "redis": "/data",
    }
    for service, target in mounts.items():
        sources = [
            volume.split(":")[0]
            for volume in compose["services"][service]["volumes"]
            if volume.split(":")[1] == target
        ]
        assert sources and sources[0] in named, f"{service} keeps {target} outside a named volume"


def test_redis_appends_to_its_log(compose: dict[str, Any]) -> None:
    assert "--appendonly yes" in _command(compose["services"]["redis"])


@pytest.mark.parametrize("service", APP_SERVICES)
def test_secret_key_is_required_from_the_environment(compose: dict[str, Any], service: str) -> None:
    value = compose["services"][service]["environment"]["SECRET_KEY"]
    # ${VAR:?message}: compose refuses to start without it; nothing is hard-coded.
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", value), value


def test_postgres_password_is_required_from_the_environment(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert re.fullmatch(
        r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    )
    for name in APP_SERVICES:
        assert "${POSTGRES_PASSWORD:?" in services[name]["environment"]["DATABASE_URL"], name


def test_only_nginx_is_published_on_the_host(compose: dict[str, Any]) -> None:
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"nginx"}
    assert compose["services"]["nginx"]["ports"] == ["${HTTP_PORT:-8080}:80"]


def test_nginx_runs_this_repositorys_config(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    assert nginx["image"].startswith("nginx:")
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]


# --- Dockerfile and .dockerignore ---------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    pairs = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions(DOCKERFILE.read_text())


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_dockerfile_is_multi_stage(dockerfile: list[tuple[str, str]]) -> None:
    assert sum(keyword == "FROM" for keyword, _ in dockerfile) >= 2


def test_final_stage_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args for keyword, args in _final_stage(dockerfile) if keyword == "USER"]
    assert users, "the final stage has no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, user


def test_image_installs_no_dev_or_test_extras(dockerfile: list[tuple[str, str]]) -> None:
    for keyword, args in dockerfile:
        if keyword == "RUN" and "pip" in args:
            assert not re.search(r"\[[^\]]*\b(dev|test)\b[^\]]*\]", args), args


def test_final_stage_has_no_build_tools(dockerfile: list[tuple[str, str]]) -> None:
    for keyword, args in _final_stage(dockerfile):
        if keyword == "RUN":
            assert not re.search(r"\b(gcc|build-essential|make|pip install)\b", args), args


def test_final_stage_ships_the_migrations_and_serves_by_default(
    dockerfile: list[tuple[str, str]],
) -> None:
    final = _final_stage(dockerfile)
    copied = " ".join(args for keyword, args in final if keyword == "COPY")
    assert "alembic.ini" in copied
    assert "migrations" in copied
    assert "--from=builder" in copied
    assert ("EXPOSE", "8000") in final
    commands = [json.loads(args) for keyword, args in final if keyword == "CMD"]
    assert commands and commands[-1] == ["meetup", "serve"]
    assert any(keyword == "HEALTHCHECK" and "/ready" in args for keyword, args in final)
    env = " ".join(args for keyword, args in final if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PYTHONUNBUFFERED=1" in env


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".data", ".env", "tests", "bench"} <= patterns


# --- nginx.conf ---------------------------------------------------------------------------------


def _nginx() -> str:
    return require_binary("nginx", install="apt-get install -y nginx-light")


def _prepare_conf(
    prefix: Path,
    *,
    upstream_port: int = 8000,
    listen_port: int | None = None,
    upstream_ports: list[int] | None = None,
) -> Path:
    """A copy of nginx.conf that this machine's nginx can load under `prefix`.

    `api` exists only on the compose network, and `server ... resolve` needs nginx 1.27.3+ (compose
    runs 1.28; Debian has 1.22): the server line alone becomes a loopback address; the resolver,
    zone and keep-alive settings stay as they are.
    Temporary-file paths move under the prefix so that neither root nor /var/lib/nginx is needed.
    """
    text = NGINX_CONF.read_text()
    assert UPSTREAM_IN_CONF in text, f"nginx.conf no longer contains {UPSTREAM_IN_CONF!r}"
    servers = "\n        ".join(
        f"server 127.0.0.1:{port};" for port in (upstream_ports or [upstream_port])
    )
    text = text.replace(UPSTREAM_IN_CONF, servers)
    if listen_port is not None:
        assert LISTEN_IN_CONF in text, f"nginx.conf no longer contains {LISTEN_IN_CONF!r}"
        text = text.replace(LISTEN_IN_CONF, f"listen 127.0.0.1:{listen_port} default_server;")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / ('tmp_' + kind)};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = re.sub(r"^http \{\n", "http {\n" + temp_paths, text, count=1, flags=re.MULTILINE)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    # The image has a full mime.types next to nginx.conf; a small one does for loading the config.
    (prefix / "mime.types").write_text(
        "types {\n    text/html html;\n    application/json json;\n    text/plain txt;\n}\n"
    )
    return conf


def _nginx_args(prefix: Path, conf: Path, *extra_global: str) -> list[str]:
    globals_ = " ".join((f"pid {prefix / 'nginx.pid'};", *extra_global))
    return [_nginx(), "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr", "-g", globals_]


def test_nginx_conf_keeps_its_hardening_settings() -> None:
    text = NGINX_CONF.read_text()
    for directive in (
        "server_tokens off;",
        "client_max_body_size 1m;",
        "limit_req_status 429;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "keepalive 32;",
        "resolver 127.0.0.11 valid=5s",
        "zone api_upstream 64k;",
        UPSTREAM_IN_CONF,
    ):
        assert directive in text, directive


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    conf = _prepare_conf(tmp_path)
    result = subprocess.run(
        [*_nginx_args(tmp_path, conf), "-t"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@dataclass
class StubUpstream:
    """Stands in for the app: answers JSON, echoes X-Request-ID like the app, records requests."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def stub_upstream() -> Iterator[StubUpstream]:
    stub = StubUpstream(port=0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream connections expect

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            stub.requests.append({"path": self.path, "headers": dict(self.headers)})
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-ID", self.headers.get("X-Request-ID", "from-app"))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def nginx_port(
    stub_upstream: StubUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """The real config served by nginx on a loopback port for the length of this module."""
    prefix = tmp_path_factory.mktemp("nginx")
    port = _free_port()
    conf = _prepare_conf(prefix, upstream_port=stub_upstream.port, listen_port=port)
    output = (prefix / "output.log").open("w")
    process = subprocess.Popen(
        _nginx_args(prefix, conf, "daemon off;"), stdout=output, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(f"nginx exited: {(prefix / 'output.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not start listening within 10 s")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        output.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _request(
    port: int, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def test_nginx_forwards_client_details_to_the_app(
    nginx_port: int, stub_upstream: StubUpstream
) -> None:
    reply = _request(
        nginx_port, "GET", "/api/v1/movies", headers={"X-Forwarded-For": "203.0.113.9"}
    )

    assert reply.status == 200
    seen = stub_upstream.requests[-1]
    assert seen["path"] == "/api/v1/movies"
    assert seen["headers"]["Host"] == f"127.0.0.1:{nginx_port}"
    assert seen["headers"]["X-Real-IP"] == "127.0.0.1"
    # Replaced, not appended: the app trusts the first address, so a client must not choose it.
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert "Server: nginx/" not in str(reply.headers)


def test_nginx_passes_a_client_request_id_through(
    nginx_port: int, stub_upstream: StubUpstream
) -> None:
    reply = _request(nginx_port, "GET", "/health", headers={"X-Request-ID": "client-id-42"})

    assert stub_upstream.requests[-1]["headers"]["X-Request-ID"] == "client-id-42"
    assert reply.headers.get_all("X-Request-ID") == ["client-id-42"]


def test_nginx_makes_a_request_id_when_the_client_sends_none_or_garbage(
    nginx_port: int, stub_upstream: StubUpstream
) -> None:
    for headers in ({}, {"X-Request-ID": "has spaces in it"}, {"X-Request-ID": "x" * 200}):
        reply = _request(nginx_port, "GET", "/health", headers=headers)

        sent = stub_upstream.requests[-1]["headers"]["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", sent), sent
        assert reply.headers.get_all("X-Request-ID") == [sent]


@pytest.mark.parametrize("path", ["/metrics", "/metrics?format=text", "/%6Detrics", "//metrics"])
def test_nginx_hides_metrics_from_the_outside(
    nginx_port: int, stub_upstream: StubUpstream, path: str
) -> None:
    before = len(stub_upstream.requests)

    reply = _request(nginx_port, "GET", path)

    assert reply.status == 404
    assert reply.json()["code"] == "not_found"
    assert len(stub_upstream.requests) == before, "the request reached the app"


def test_nginx_refuses_a_body_over_one_megabyte(nginx_port: int) -> None:
    reply = _request(
        nginx_port,
        "POST",
        "/api/v1/movies",
        body=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )

    assert reply.status == 413
    assert reply.json()["code"] == "request_too_large"
    assert reply.headers["X-Request-ID"]


def test_nginx_rate_limits_auth_routes_with_the_api_error_shape(nginx_port: int) -> None:
    # Last in this module: it spends the loopback address's burst allowance on auth routes.
    replies = [
        _request(
            nginx_port,
            "POST",
            "/api/v1/auth/login",
            body=b"{}",
            headers={"Content-Type": "application/json"},
        )
        for _ in range(30)
    ]

    limited = [reply for reply in replies if reply.status == 429]
    assert replies[0].status == 200
    assert limited, "30 quick logins from one address were never limited"
    assert limited[0].json()["code"] == "rate_limited"
    assert limited[0].headers["Retry-After"]
    assert limited[0].headers["X-Request-ID"]
    # Other routes are not limited by nginx.
    assert _request(nginx_port, "GET", "/api/v1/movies").status == 200


def test_compose_healthchecks_match_what_the_production_shape_test_proves(
    compose: dict[str, Any],
) -> None:
    """api is healthy when /ready answers (PostgreSQL and Redis reachable), each worker container
    when a worker of its own reports (per-process heartbeat keys), and nginx re-resolves `api`."""
    services = compose["services"]
    assert "/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "meetup", "worker", "--check"]
    assert "platform" not in services["api"]
    assert UPSTREAM_IN_CONF in NGINX_CONF.read_text()
