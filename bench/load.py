"""The three load tools, each run pinned to the load generator's CPU, with one result shape:
throughput, latency percentiles (ms), status counts, errors, and the tool's own CPU use."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.infra import (
    BENCH,
    Monitor,
    busy_cpu_seconds,
    children_cpu_seconds,
    parse_marked_json,
    pinned,
)

LUA = BENCH / "lua"


@dataclass
class Loader:
    wrk: str
    pgbench: str
    url: str
    cpu: int | None
    monitor: Monitor
    last_command: str = ""

    def _run(
        self, command: list[str], timeout: float
    ) -> tuple[str, dict[str, float], float, float]:
        """Run a load tool; returns its output, the CPU seconds each process group spent (and
        "others": whatever else ran on the machine meanwhile), the tool's own CPU seconds and
        the wall time."""
        full = [*pinned(self.cpu), *command]
        shown = (
            " ".join(full).replace(str(BENCH.parent) + "/", "").replace(sys.executable, "python")
        )
        self.last_command = re.sub(r"/tmp/[^/ ]+", "$TMP", shown)
        groups_before = self.monitor.cpu()
        tool_before = children_cpu_seconds()
        busy_before = busy_cpu_seconds()
        started = time.monotonic()
        result = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        wall = time.monotonic() - started
        tool_cpu = children_cpu_seconds() - tool_before
        groups = {k: v - groups_before.get(k, 0.0) for k, v in self.monitor.cpu().items()}
        others = busy_cpu_seconds() - busy_before - sum(groups.values()) - tool_cpu
        groups["others"] = max(0.0, others)
        if result.returncode != 0 and "BENCH_JSON" not in result.stdout:
            raise RuntimeError(
                f"{command[0]} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}"
            )
        return result.stdout + result.stderr, groups, tool_cpu, wall

    def _shape(
        self,
        requests: int,
        seconds: float,
        latency_ms: dict[str, float],
        statuses: dict[str, int],
        errors: int,
        groups: dict[str, float],
        tool_cpu: float,
        wall: float,
        **extra: Any,
    ) -> dict[str, Any]:
        per_request = {
            name: round(1000 * cpu / requests, 3)
            for name, cpu in groups.items()
            if cpu > 0 and requests
        }
        return {
            "requests": requests,
            "throughput": round(requests / seconds, 1) if seconds else 0.0,
            "latency_ms": latency_ms,
            "statuses": statuses,
            "errors": errors,
            "cpu_ms_per_request": per_request if requests else {},
            "loadgen_cpu_pct": round(100 * tool_cpu / wall, 1) if wall else 0.0,
            # CPU of processes that are not part of the benchmark, in % of one core.
            "others_cpu_pct": round(100 * groups.get("others", 0.0) / wall, 1) if wall else 0.0,
            **extra,
            "command": self.last_command,
        }

    def wrk_run(
        self, script: str, args: list[str], connections: int, duration: float, expected: set[int]
    ) -> dict[str, Any]:
        command = [
            self.wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
            "-s", str(LUA / script), self.url, "--", *args,
        ]  # fmt: skip
        output, groups, tool_cpu, wall = self._run(command, timeout=duration + 60)
        raw = parse_marked_json(output)
        statuses = {str(k): int(v) for k, v in raw["statuses"].items()}  # type: ignore[union-attr]
        socket_errors = sum(v for k, v in raw["errors"].items() if k != "status")  # type: ignore[union-attr]
        unexpected = sum(n for code, n in statuses.items() if int(code) not in expected)
        latency = {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()}  # type: ignore[union-attr]
        return self._shape(
            int(raw["requests"]),  # type: ignore[arg-type]
            int(raw["duration_us"]) / 1e6,  # type: ignore[arg-type]
            latency,
            statuses,
            socket_errors + unexpected,
            groups,
            tool_cpu,
            wall,
            tool="wrk",
            connections=connections,
            mode="closed loop",
            users_reused=raw.get("users_reused", 0),
        )

    def open_loop(
        self, rate: float, duration: float, kind: str, args: list[str], expected: set[int]
    ) -> dict[str, Any]:
        command = [
            sys.executable, str(BENCH / "loadgen.py"), "--url", self.url, "--rate", f"{rate:.1f}",
            "--duration", str(duration), kind, *args,
        ]  # fmt: skip
        output, groups, _, wall = self._run(command, timeout=duration + 60)
        raw = parse_marked_json(output)
        statuses = {str(k): int(v) for k, v in raw["statuses"].items()}  # type: ignore[union-attr]
        unexpected = sum(
            n for code, n in statuses.items() if not code.isdigit() or int(code) not in expected
        )
        completed = int(raw["completed"])  # type: ignore[arg-type]
        return self._shape(
            completed,
            float(raw["send_window_s"]),  # type: ignore[arg-type]
            raw["latency_ms"],  # type: ignore[arg-type]
            statuses,
            unexpected + int(raw["unfinished"]),  # type: ignore[arg-type]
            groups,
            0.0,
            wall,
            tool="bench/loadgen.py",
            mode="open loop (fixed rate)",
            rate=rate,
            achieved_rate=raw["achieved_rate"],
            generator_cpu_pct=raw["generator_cpu_pct"],
            generator_saturated=float(raw["generator_cpu_pct"]) > 70,  # type: ignore[arg-type]
            max_schedule_lag_ms=raw["max_schedule_lag_ms"],
        )

    def burst(self, spec: Path) -> dict[str, Any]:
        """bench/burst.py: the requests of `spec` at one instant, with a probe timing others."""
        command = [sys.executable, str(BENCH / "burst.py"), "--url", self.url, str(spec)]
        output, groups, tool_cpu, wall = self._run(command, timeout=120)
        raw = parse_marked_json(output)
        answers: dict[str, int] = raw["answers"]  # type: ignore[assignment]
        failed = sum(n for label, n in answers.items() if label == "error" or label.startswith("5"))
        latency = {k: v for k, v in raw["latency_ms"].items() if k != "count"}  # type: ignore[union-attr]
        result = self._shape(
            int(raw["requests"]),  # type: ignore[arg-type]
            float(raw["elapsed_s"]),  # type: ignore[arg-type]
            latency,
            raw["statuses"],  # type: ignore[arg-type]
            failed,
            groups,
            tool_cpu,
            wall,
            tool="bench/burst.py",
            mode="burst (all requests at one instant)",
            answers=answers,
            server_errors=failed,
            created_ids=raw["created_ids"],
            probes=raw["probes"],
        )
        # The probe's requests (idle and during) ran in the same window: not a per-request figure.
        result["cpu_ms_per_burst_request_with_probes"] = result.pop("cpu_ms_per_request")
        return result

    def pgbench_run(
        self, dsn: dict[str, str], script: Path, clients: int, variables: dict[str, int], *,
        seconds: float | None = None, transactions: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="pgbench-") as logs:
            command = [
                self.pgbench, "-h", dsn["host"], "-p", dsn["port"], "-U", dsn["user"], "-n",
                "-M", "prepared", "-c", str(clients), "-j", "1", "-f", str(script), "-r",
                "-l", f"--log-prefix={logs}/tx",
                *(f"-D{k}={v}" for k, v in variables.items()),
                *(["-T", str(max(1, round(seconds)))] if seconds else ["-t", str(transactions)]),
                dsn["database"],
            ]  # fmt: skip
            output, groups, tool_cpu, wall = self._run(command, timeout=(seconds or 60) + 120)
            latencies = sorted(
                int(line.split()[2]) / 1000
                for log in Path(logs).glob("tx*")
                for line in log.read_text().splitlines()
            )
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
        # -r: the average latency of each statement, the slowest first (where the time goes).
        statements = sorted(
            (
                (float(m[1]), " ".join(m[2].split())[:90])
                for m in re.finditer(r"^\s+([\d.]+)\s+\d+\s+(\S.*)$", output, re.M)
            ),
            reverse=True,
        )
        failed = re.search(r"number of failed transactions: (\d+)", output)
        aborted = len(re.findall(r"aborted in command", output))
        if tps is None:
            raise RuntimeError(f"pgbench printed no tps:\n{output[-3000:]}")

        def pct(p: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 2)

        done = len(latencies)
        return self._shape(
            done,
            done / float(tps[1]) if float(tps[1]) else 0.0,
            {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(latencies[-1], 2)}
            if latencies
            else {},
            {},
            (int(failed[1]) if failed else 0) + aborted,
            groups,
            tool_cpu,
            wall,
            tool="pgbench",
            connections=clients,
            mode="closed loop",
            aborted_clients=aborted,
            slowest_statements_ms=[[ms, sql] for ms, sql in statements[:5]],
            first_error=next((line for line in output.splitlines() if "ERROR" in line), None),
        )
