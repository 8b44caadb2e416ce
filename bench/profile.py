"""Where the API's CPU goes during a booking run: py-spy samples one API process (on-CPU samples
only) and we sum them by package (self time) and by function of ours (inclusive time).

py-spy is not a dependency of the project: `.venv/bin/pip install py-spy` to get this section.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.infra import VENV_BIN

PACKAGES = {
    "sqlalchemy": "SQLAlchemy (ORM, Core, asyncio adapter)",
    "asyncpg": "asyncpg (driver)",
    "greenlet": "SQLAlchemy (ORM, Core, asyncio adapter)",
    "fastapi": "FastAPI (dependencies, validation, serialisation)",
    "starlette": "Starlette (routing, middleware)",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "uvicorn": "uvicorn + httptools (HTTP)",
    "httptools": "uvicorn + httptools (HTTP)",
    "jose": "python-jose + cryptography (JWT)",
    "cryptography": "python-jose + cryptography (JWT)",
    "structlog": "structlog + prometheus-client (logs, metrics)",
    "prometheus_client": "structlog + prometheus-client (logs, metrics)",
    "redis": "redis / arq (enqueue after commit)",
    "arq": "redis / arq (enqueue after commit)",
    "sqlmodel": "SQLAlchemy (ORM, Core, asyncio adapter)",
}


def py_spy() -> str | None:
    local = VENV_BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    tool = py_spy()
    if tool is None:
        return None
    command = [tool, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "250", "-f", "raw",
               "-o", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _package(frame: str) -> str:
    """py-spy names a frame `function (package/module.py:line)`."""
    if frame.startswith(("Runner.run ", "run_until_complete ")):
        return "event loop (uvloop's C code: socket I/O, callbacks)"
    path = frame.rsplit(" (", 1)[-1].lstrip("<")
    top = path.split("/", 1)[0].split(".", 1)[0].split(":", 1)[0]
    if top == "app":
        return "app code"
    if "sqlalchemy" in path:
        return PACKAGES["sqlalchemy"]
    if top in PACKAGES:
        return PACKAGES[top]
    if "/" not in path or top in {"asyncio", "json", "email", "logging", "concurrent", "frozen"}:
        return f"stdlib: {top}"
    return top


def _ours(frame: str) -> str:
    """`function (app/x/y.py:12)` -> `app/x/y.py: function`."""
    function, _, where = frame.partition(" (")
    return f"{where.split(':', 1)[0]}: {function}"


_WAITING_IN = ("threading.py", "queue.py", "selectors.py", "multiprocessing/", "concurrent/")


def _waiting(leaf: str) -> bool:
    """A thread blocked on a lock, a queue or a pipe (thread pools, uvicorn's supervisor pipe):
    py-spy does not always see those as idle, but they spend no CPU."""
    function, _, where = leaf.partition(" (")
    name = function.rsplit(".", 1)[-1]
    blocking = {"wait", "_wait_for_tstate_lock", "get", "select", "poll", "_poll", "_recv",
                "_recv_bytes", "recv_bytes", "join", "acquire"}  # fmt: skip
    return name in blocking and where.startswith(_WAITING_IN)


def summarize(raw: Path) -> dict[str, Any]:
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if _waiting(frames[-1]):
            continue
        total += n
        by_package[_package(frames[-1])] += n
        ours = {_ours(f) for f in frames if " (app/" in f and " (app/cli.py" not in f}
        for label in ours:
            inclusive[label] += n
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "self_time_by_package_pct": {
            k: round(100 * v / total, 1) for k, v in by_package.most_common()
        },
        # Functions of ours and what they call. A lower bound: SQLAlchemy runs queries in a
        # greenlet, whose samples py-spy shows without the coroutine frames that called them.
        "inclusive_pct": {
            k: round(100 * v / total, 1) for k, v in inclusive.most_common() if v >= 0.02 * total
        },
    }
