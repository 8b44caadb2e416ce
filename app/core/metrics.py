"""Prometheus metrics.

`meetup serve --workers N` runs in prometheus_client's multiprocess mode (app/cli.py sets
PROMETHEUS_MULTIPROC_DIR before the processes start): each process writes its values to files in
that directory and every scrape, whichever process answers, adds up the counters and histograms of
all of them. The gauges below are read from Redis at scrape time and are the same in every process:
`livemostrecent` reports the latest value of a live process. One process (or PROMETHEUS_MULTIPROC_DIR
unset): the default registry. Separate replicas (containers) are scraped one by one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "meetup_http_requests_total",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "meetup_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def render() -> tuple[bytes, str]:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(JOB_HISTORY)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def process_exiting() -> None:
    """Drop this process's live gauges from the multiprocess files (its counters keep counting)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())


BOOKINGS = Counter(
    "meetup_booking_requests_total",
    "Booking requests by outcome (approved, pending, waitlisted, no_seats)",
    ["outcome"],
)

# The background jobs, read from Redis on each scrape (app/admin/jobs.py::collect_metrics), so
# every api replica reports the same shared queue whichever worker ran what.
QUEUE_DEPTH = Gauge(
    "meetup_queue_depth",
    "Jobs in the arq queue by state (queued: due now; deferred: due later; in_progress)",
    ["state"],
    multiprocess_mode="livemostrecent",
)
JOB_RESULTS = Gauge(
    "meetup_jobs_finished",
    "Finished jobs whose results arq still keeps (the last hour), by function and outcome",
    ["function", "outcome"],
    multiprocess_mode="livemostrecent",
)
WORKER_HEARTBEAT_AGE = Gauge(
    "meetup_worker_heartbeat_age_seconds",
    "Seconds since a worker last reported its health (+Inf: none within the interval)",
    multiprocess_mode="livemostrecent",
)
WORKERS_ALIVE = Gauge(
    "meetup_workers_alive",
    "Worker processes that reported their health within the interval",
    multiprocess_mode="livemostrecent",
)
JOBS_REDIS_UP = Gauge(
    "meetup_jobs_redis_up",
    "1 if the job gauges could be read from Redis at the last scrape",
    multiprocess_mode="livemostrecent",
)


@dataclass(frozen=True)
class JobTotals:
    """One job function's cumulative history, as the worker keeps it in Redis."""

    function: str
    outcomes: dict[str, int]  # completed, failed, retried
    bounds: Sequence[float]  # the histogram's upper bounds, +Inf excluded
    buckets: Sequence[int]  # runs per bucket, not cumulative: len(bounds) + 1
    sum_seconds: float


class JobHistoryCollector(Collector):
    """`meetup_jobs_total{function,outcome}` and `meetup_job_duration_seconds{function}`: counted
    by the worker processes into never-expiring Redis hashes (app/jobs/stats.py), read on
    each scrape (app/admin/jobs.py::collect_metrics sets them before rendering), so they only
    ever grow, whichever API process answers and however many workers ran the jobs."""

    def __init__(self) -> None:
        self.totals: list[JobTotals] = []

    def set(self, totals: list[JobTotals]) -> None:
        self.totals = totals

    def collect(self) -> Iterator[Metric]:
        jobs = CounterMetricFamily(
            "meetup_jobs",
            "Job runs finished by the workers, by function and outcome (completed, failed, retried)",
            labels=["function", "outcome"],
        )
        durations = HistogramMetricFamily(
            "meetup_job_duration_seconds",
            "Job run durations by function, as timed by the workers",
            labels=["function"],
        )
        for row in self.totals:
            for outcome, count in sorted(row.outcomes.items()):
                jobs.add_metric([row.function, outcome], count)
            cumulative, buckets = 0, []
            for bound, count in zip([*map(str, row.bounds), "+Inf"], row.buckets, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            durations.add_metric([row.function], buckets, row.sum_seconds)
        yield jobs
        yield durations


JOB_HISTORY = JobHistoryCollector()
REGISTRY.register(JOB_HISTORY)
