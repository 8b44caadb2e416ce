"""Prometheus metrics. One registry per process; scrape each api replica (or use PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

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
