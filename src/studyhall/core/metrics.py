"""Prometheus metrics on a registry of our own, rendered at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

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
JOBS_PENDING = Gauge("studyhall_jobs_pending", "Jobs waiting in the queue", registry=registry)
JOBS_SCHEDULED = Gauge(
    "studyhall_jobs_scheduled", "Jobs scheduled for later (including retries)", registry=registry
)
SECURITY_EVENTS = Counter(
    "studyhall_security_events", "Security events logged, by name", ["event"], registry=registry
)

__all__ = ["CONTENT_TYPE_LATEST", "generate_latest", "registry"]
