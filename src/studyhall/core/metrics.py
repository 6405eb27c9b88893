"""Prometheus metrics on a registry of our own, rendered at /metrics.

Several worker processes (`studyhall serve --workers N`, or gunicorn) share one /metrics through
prometheus_client's multiprocess mode: with PROMETHEUS_MULTIPROC_DIR in the environment when
prometheus_client is first imported, every process writes its samples to its own files in that
directory, and `exposition()` sums the files of all workers, whichever worker answers the scrape.
`serve` sets the variable for its workers; without it, metrics live in this process's memory.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

registry = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "studyhall_http_requests",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
    registry=registry,
)
LATENCY = Histogram(
    "studyhall_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=registry,
)
ERRORS = Counter(
    "studyhall_http_errors",
    "Responses with status >= 500, and unhandled exceptions",
    ["route"],
    registry=registry,
)
CACHE_HITS = Counter(
    "studyhall_cache_hits", "Cache hits by namespace", ["namespace"], registry=registry
)
CACHE_MISSES = Counter(
    "studyhall_cache_misses", "Cache misses by namespace", ["namespace"], registry=registry
)
RATE_LIMITED = Counter(
    "studyhall_rate_limit_rejections", "Requests answered 429 by rule", ["rule"], registry=registry
)
JOBS = Counter(
    "studyhall_jobs",
    "Job state transitions seen by this process (enqueued, executing, complete, error, retrying)",
    ["task", "state"],
    registry=registry,
)
# Set from the shared queue by the worker answering the scrape, just before rendering: with
# several workers its value is the latest one, not a sum or maximum over the workers.
JOBS_PENDING = Gauge(
    "studyhall_jobs_pending",
    "Jobs waiting in the queue",
    registry=registry,
    multiprocess_mode="mostrecent",
)
JOBS_SCHEDULED = Gauge(
    "studyhall_jobs_scheduled",
    "Jobs scheduled for later (including retries)",
    registry=registry,
    multiprocess_mode="mostrecent",
)
EVENT_DELIVERIES = Counter(
    "studyhall_event_deliveries",
    "Domain event deliveries by event, handler and outcome (delivered, retrying, failed)",
    ["event", "handler", "outcome"],
    registry=registry,
)
SECURITY_EVENTS = Counter(
    "studyhall_security_events", "Security events logged, by name", ["event"], registry=registry
)


def multiprocess_dir() -> str | None:
    """The directory every worker process writes its samples to, when there is one."""
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def exposition() -> bytes:
    """The Prometheus text of all worker processes (multiprocess mode), else of this one."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(registry)
    workers = CollectorRegistry()
    MultiProcessCollector(workers, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(workers)


__all__ = [
    "CONTENT_TYPE_LATEST",
    "MULTIPROC_DIR_ENV",
    "exposition",
    "generate_latest",
    "multiprocess_dir",
    "registry",
]
