"""Processes of a benchmark run: the API server, the worker, load generators, and what they cost
(CPU seconds and peak RSS per process group, sampled with psutil)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent


def ensure_wrk() -> str:
    """Debian's wrk, installed with apt-get when missing and possible."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None:
        sys.exit("bench: `wrk` is not installed and there is no apt-get: install wrk and rerun")
    print("bench: installing wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*sudo, "apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"bench: `apt-get install wrk` failed:\n{result.stderr}")
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: wrk is still missing after apt-get install")
    return found


def pinned(cpu: int | None) -> list[str]:
    """A `taskset` prefix that keeps a load generator on its own CPU (when there is one)."""
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent not idle since boot (all cores)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.1)


@dataclass
class Service:
    """A long-running process of ours (the API or the worker), stopped with SIGTERM."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


@dataclass
class GroupStats:
    cpu_seconds: float = 0.0
    peak_rss: int = 0
    peak_processes: int = 0


@dataclass
class Monitor:
    """Samples CPU time and RSS of named process groups in a background thread."""

    groups: dict[str, Callable[[], list[int]]]
    interval: float = 0.2
    stats: dict[str, GroupStats] = field(default_factory=dict)
    _last_cpu: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.stats = {name: GroupStats() for name in self.groups}
        threading.Thread(target=self._run, daemon=True, name="bench-monitor").start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            for name, pids in self.groups.items():
                rss = 0
                count = 0
                for pid in pids():
                    try:
                        process = psutil.Process(pid)
                        with process.oneshot():
                            times = process.cpu_times()
                            rss += process.memory_info().rss
                    except psutil.Error:
                        continue
                    count += 1
                    total = times.user + times.system
                    self.stats[name].cpu_seconds += total - self._last_cpu.get(pid, total)
                    self._last_cpu[pid] = total
                group = self.stats[name]
                group.peak_rss = max(group.peak_rss, rss)
                group.peak_processes = max(group.peak_processes, count)

    def cpu(self) -> dict[str, float]:
        self.sample()
        with self._lock:
            return {name: stats.cpu_seconds for name, stats in self.stats.items()}

    def reset_peaks(self) -> None:
        with self._lock:
            for stats in self.stats.values():
                stats.peak_rss = 0
                stats.peak_processes = 0


def process_tree(root_pid: int | None) -> list[int]:
    """A process and all its descendants (PostgreSQL's backends, a server behind a wrapper)."""
    if root_pid is None:
        return []
    try:
        root = psutil.Process(root_pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def parse_marked_json(output: str, marker: str = "BENCH_JSON ") -> dict[str, object]:
    for line in output.splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker) :])
    raise RuntimeError(f"no {marker.strip()} line in the output:\n{output[-3000:]}")
