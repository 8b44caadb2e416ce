"""An open-loop load generator: requests are SCHEDULED at a fixed rate, whatever the server does,
and each latency counts from the scheduled send time (so queueing shows, unlike in a closed loop
where a slow server slows the client down and hides it: "coordinated omission").

Plain asyncio streams over keep-alive HTTP/1.1 connections (uvloop when installed), a new connection
only when every open one is busy. It reports its own CPU use: above ~70% of a core it may be the
bottleneck, and the harness says so. Run it pinned to its own CPU with taskset.

    python bench/loadgen.py --url http://127.0.0.1:8000 --rate 300 --duration 8 get /health
    python bench/loadgen.py ... get A:TOKEN_FILE /api/v1/bookings   (authenticated, as get.lua)
    python bench/loadgen.py ... booking TOKENS_FILE hot FIRST PER [KEY_PREFIX]   (as booking.lua)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

ANNOUNCEMENT_PREFIX = "00000000-0005-4000-8000-"


def booking_requests(
    host: str, tokens_file: str, mode: str, first: int, per: int, key_prefix: str = ""
) -> Callable[[int], bytes]:
    """Request k: guest k+1 (line k+1 of the tokens file); with a key prefix, a new
    `Idempotency-Key: <prefix>-<k>` per request."""
    with open(tokens_file) as handle:
        tokens = [line.strip() for line in handle if line.strip()]
    body = b'{"seats": 1}'

    def build(k: int) -> bytes:
        announcement = first + (k // per if mode == "hot" else k % per if mode == "spread" else 0)
        path = f"/api/v1/announcements/{ANNOUNCEMENT_PREFIX}{announcement:012d}/bookings"
        key = f"Idempotency-Key: {key_prefix}-{k}\r\n" if key_prefix else ""
        return (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tokens[k % len(tokens)]}\r\n"
            f"{key}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return build


def get_requests(host: str, args: list[str]) -> Callable[[int], bytes]:
    """GETs rotating over the paths; an argument `A:<file>` adds `Authorization: Bearer <its first
    line>` to every request (as bench/lua/get.lua)."""
    auth = ""
    paths = []
    for arg in args:
        if arg.startswith("A:"):
            with open(arg[2:]) as handle:
                auth = f"Authorization: Bearer {handle.readline().strip()}\r\n"
        else:
            paths.append(arg)
    raw = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode() for path in paths]
    return lambda k: raw[k % len(raw)]


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b""):
            break
        name, _, value = header.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(args: argparse.Namespace, build: Callable[[int], bytes]) -> dict[str, object]:
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0
    slots = asyncio.Semaphore(args.max_connections)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds

    async def one(k: int, scheduled: float) -> None:
        nonlocal opened
        async with slots:
            try:
                if idle:
                    reader, writer = idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(host, port)
                    opened += 1
                status = await exchange(reader, writer, build(k))
            except (OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
                statuses["error"] += 1
                return
            latencies.append(clock() - scheduled)
            statuses[str(status)] += 1
            idle.append((reader, writer))

    total = int(args.rate * args.duration)
    tasks: set[asyncio.Task[None]] = set()
    cpu_start, start = time.process_time(), clock()
    late = 0.0
    for k in range(total):
        scheduled = start + k / args.rate
        delay = scheduled - clock()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
        task = asyncio.create_task(one(k, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_in = clock() - start
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.timeout)
    elapsed = clock() - start
    cpu = time.process_time() - cpu_start
    for _, writer in idle:
        writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000
            if latencies
            else 0.0
        )

    return {
        "rate": args.rate,
        "scheduled": total,
        "completed": len(latencies),
        "unfinished": total - sum(statuses.values()),
        "statuses": dict(statuses),
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "send_window_s": round(sent_in, 3),
        "max_schedule_lag_ms": round(late * 1000, 2),
        "latency_ms": {
            "p50": round(pct(50), 2),
            "p90": round(pct(90), 2),
            "p99": round(pct(99), 2),
            "max": round(latencies[-1] * 1000, 2) if latencies else 0.0,
        },
        "connections_opened": opened,
        "generator_cpu_pct": round(100 * cpu / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of sending")
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=15, help="grace for the last replies")
    parser.add_argument("kind", choices=["get", "booking"])
    parser.add_argument("rest", nargs="+")
    args = parser.parse_args()
    host = urlsplit(args.url).netloc
    if args.kind == "get":
        build = get_requests(host, args.rest)
    else:
        tokens, mode, first, per, *key = args.rest
        build = booking_requests(host, tokens, mode, int(first), int(per), *key[:1])
    try:
        import uvloop

        result = uvloop.run(run(args, build))
    except ImportError:
        result = asyncio.run(run(args, build))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
