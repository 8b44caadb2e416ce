"""Prometheus metrics. One registry per process; scrape each api replica (or use PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

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
    return generate_latest(), CONTENT_TYPE_LATEST


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
)
JOB_RESULTS = Gauge(
    "meetup_jobs_finished",
    "Finished jobs whose results arq still keeps (the last hour), by function and outcome",
    ["function", "outcome"],
)
WORKER_HEARTBEAT_AGE = Gauge(
    "meetup_worker_heartbeat_age_seconds",
    "Seconds since a worker last reported its health (+Inf: none within the interval)",
)
WORKERS_ALIVE = Gauge(
    "meetup_workers_alive", "Worker processes that reported their health within the interval"
)
JOBS_REDIS_UP = Gauge(
    "meetup_jobs_redis_up", "1 if the job gauges could be read from Redis at the last scrape"
)
