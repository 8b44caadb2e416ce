"""A burst: N requests written at the same instant on N keep-alive connections opened beforehand,
every answer recorded (status, error code, `Idempotent-Replayed`, booking id), while a probe times
other requests of the same server (e.g. `GET /health` and a list page, each on a new connection so
that the kernel spreads them over uvicorn's workers) to show whether the burst stalls them.

    python bench/burst.py --url http://127.0.0.1:8000 SPEC.json

SPEC.json: {"requests": [{"method", "path", "headers": {...}, "body"}], "probes": [path, ...]}.
Prints one `BENCH_JSON {...}` line. Run it pinned to its own CPU with taskset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
clock = time.perf_counter


def raw_request(host: str, method: str, path: str, headers: dict[str, str], body: str) -> bytes:
    data = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if data or method != "GET":
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()  # no length: the server closes after the body
    return status, headers, body


def answer_label(status: int, headers: dict[str, str], body: bytes) -> tuple[str, str | None]:
    """("201", id) / ("201 replayed", id) / ("409 already_booked", None) / ("503 ...", None)."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    parsed = parsed if isinstance(parsed, dict) else {}
    if status < 400:
        replayed = headers.get("idempotent-replayed", "").lower() == "true"
        ident = parsed.get("id")
        return f"{status} replayed" if replayed else str(status), str(ident) if ident else None
    code = parsed.get("code")
    return (f"{status} {code}" if isinstance(code, str) else str(status)), None


def summary(latencies: list[float]) -> dict[str, float | int]:
    if not latencies:
        return {"count": 0}
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

    return {"count": len(ordered), "p50": pct(50), "p99": pct(99), "max": pct(100)}


async def probe_once(host: str, port: int, path: str) -> tuple[float, str]:
    started = clock()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw_request(f"{host}:{port}", "GET", path, {"Connection": "close"}, ""))
        status, _, _ = await read_response(reader)
    finally:
        writer.close()
    return clock() - started, str(status)


async def run(url: str, spec: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [
        raw_request(parts.netloc, r["method"], r["path"], r.get("headers", {}), r.get("body", ""))
        for r in spec["requests"]
    ]
    probes: list[str] = spec.get("probes", [])
    idle: dict[str, list[float]] = {path: [] for path in probes}
    for path in probes:  # the probe's own latency on an idle server, to compare with
        for _ in range(int(spec.get("idle_probes", 20))):
            took, _ = await probe_once(host, port, path)
            idle[path].append(took)
    connections: list[Stream] = await asyncio.gather(
        *(asyncio.open_connection(host, port) for _ in requests)
    )
    during: dict[str, list[float]] = {path: [] for path in probes}
    probe_statuses: dict[str, Counter[str]] = {path: Counter() for path in probes}
    stop = asyncio.Event()

    async def probe() -> None:
        k = 0
        while not stop.is_set() and probes:
            path = probes[k % len(probes)]
            k += 1
            try:
                took, status = await probe_once(host, port, path)
            except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
                probe_statuses[path]["error"] += 1
                continue
            if not stop.is_set():
                during[path].append(took)
                probe_statuses[path][status] += 1
            await asyncio.sleep(0.002)

    async def one(stream: Stream, started: float) -> tuple[str, str | None, float]:
        reader, _ = stream
        try:
            status, headers, body = await asyncio.wait_for(
                read_response(reader), timeout=float(spec.get("timeout", 30))
            )
        except (OSError, ConnectionError, ValueError, TimeoutError, asyncio.IncompleteReadError):
            return "error", None, clock() - started
        label, ident = answer_label(status, headers, body)
        return label, ident, clock() - started

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.05)  # the probe is running before the burst starts
    started = clock()
    for (_, writer), request in zip(connections, requests, strict=True):
        writer.write(request)  # all written before any answer is awaited: one instant
    answers = await asyncio.gather(*(one(stream, started) for stream in connections))
    elapsed = clock() - started
    stop.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(prober, timeout=10)
    for _, writer in connections:
        writer.close()
    labels = Counter(label for label, _, _ in answers)
    return {
        "requests": len(requests),
        "elapsed_s": round(elapsed, 3),
        "answers": dict(labels.most_common()),
        "statuses": dict(Counter(label.split()[0] for label, _, _ in answers)),
        "latency_ms": summary([took for _, _, took in answers]),
        "created_ids": sorted({ident for _, ident, _ in answers if ident}),
        "probes": {
            path: {
                "idle_ms": summary(idle[path]),
                "during_ms": summary(during[path]),
                "statuses": dict(probe_statuses[path]),
            }
            for path in probes
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("spec", help="JSON file: requests and probes")
    args = parser.parse_args()
    with open(args.spec) as handle:
        spec = json.load(handle)
    try:
        import uvloop

        result = uvloop.run(run(args.url, spec))
    except ImportError:
        result = asyncio.run(run(args.url, spec))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
