"""/metrics in Prometheus format: request counts and latency per route template, errors, cache
hits and misses, rate-limit rejections and job counts by state; with several worker
processes, the sum of all of them (tests/test_cli.py runs `serve --workers 2` for real)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.values import MultiProcessValue

from studyhall.core import cache
from studyhall.core.metrics import MULTIPROC_DIR_ENV
from tests.backends import Mailbox
from tests.conftest import SignedInUser, deliver_test_mail
from tests.core.conftest import PING, AppFactory, eventually, metric, scrape


async def test_exposition_format_and_families(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    assert {
        "studyhall_http_requests": "counter",
        "studyhall_http_request_duration_seconds": "histogram",
        "studyhall_http_errors": "counter",
        "studyhall_cache_hits": "counter",
        "studyhall_cache_misses": "counter",
        "studyhall_rate_limit_rejections": "counter",
        "studyhall_jobs": "counter",
        "studyhall_jobs_pending": "gauge",
        "studyhall_jobs_scheduled": "gauge",
    }.items() <= families.items()


async def test_request_count_and_latency_per_route_template(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    route = {"method": "GET", "route": "/api/v1/me"}
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/api/v1/me", headers=student.headers)).status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 401
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("studyhall_http_requests_total", status="200", **route) == 3
    assert delta("studyhall_http_requests_total", status="401", **route) == 1
    assert delta("studyhall_http_request_duration_seconds_count", **route) == 4
    assert delta("studyhall_http_request_duration_seconds_sum", **route) > 0
    assert delta("studyhall_http_request_duration_seconds_bucket", le="+Inf", **route) == 4
    # Raw paths never become label values; health and metrics are not counted.
    assert 'route="/metrics"' not in after
    assert 'route="/health"' not in after


async def test_error_count(make_app: AppFactory) -> None:
    def boom_route(app: FastAPI) -> None:
        @app.get("/api/v1/test/metrics-boom")
        async def boom() -> None:
            raise ValueError("boom")

    async with make_app(setup=boom_route) as (_, client):
        before = metric(await scrape(client), "studyhall_http_errors_total")
        assert (await client.get("/api/v1/test/metrics-boom")).status_code == 500
        text = await scrape(client)
    assert metric(text, "studyhall_http_errors_total") == before + 1
    assert metric(text, "studyhall_http_errors_total", route="/api/v1/test/metrics-boom") >= 1
    assert (
        metric(
            text,
            "studyhall_http_requests_total",
            route="/api/v1/test/metrics-boom",
            status="500",
        )
        >= 1
    )


async def test_cache_hits_and_misses(client: httpx.AsyncClient) -> None:
    namespace = f"metrics{uuid.uuid4().hex[:8]}"
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        return "value"

    await cache.get_or_set(f"{namespace}:key", 60, load)
    await cache.get_or_set(f"{namespace}:key", 60, load)
    await cache.get_or_set(f"{namespace}:key", 60, load)
    text = await scrape(client)
    assert calls == 1
    assert metric(text, "studyhall_cache_misses_total", namespace=namespace) == 1
    assert metric(text, "studyhall_cache_hits_total", namespace=namespace) == 2


async def test_rate_limit_rejections(make_app: AppFactory) -> None:
    async with make_app(rate_limit_global="2/minute", client_ip="10.30.0.1") as (_, client):
        before = metric(await scrape(client), "studyhall_rate_limit_rejections_total")
        statuses = [(await client.get(PING)).status_code for _ in range(4)]
        text = await scrape(client)
    assert statuses == [200, 200, 429, 429]
    assert metric(text, "studyhall_rate_limit_rejections_total", rule="global_ip") >= 2
    assert metric(text, "studyhall_rate_limit_rejections_total") == before + 2


async def test_job_counts_by_state(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    task = {"task": "deliver_test_mail"}
    before = await scrape(client)
    to = f"metrics-{uuid.uuid4().hex[:8]}@example.com"
    deliver_test_mail(to, "Metrics")
    await mailbox.wait_for(to, "Metrics")

    async def completed() -> bool:
        text = await scrape(client)
        return metric(text, "studyhall_jobs_total", state="complete", **task) > metric(
            before, "studyhall_jobs_total", state="complete", **task
        )

    await eventually(completed, message="the email job was not counted as complete")
    after = await scrape(client)
    for state in ("enqueued", "executing", "complete"):
        assert (
            metric(after, "studyhall_jobs_total", state=state, **task)
            >= metric(before, "studyhall_jobs_total", state=state, **task) + 1
        ), state
    assert metric(after, "studyhall_jobs_pending") >= 0


async def test_several_worker_processes_are_summed(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set (`serve --workers N` sets it for its workers), /metrics
    renders the files every worker process writes there, not this process's registry."""
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))
    route = "/api/v1/test/workers"
    for worker, served, pending, at in ((4001, 3, 5.0, 2000.0), (4002, 4, 7.0, 1000.0)):
        # What the metrics module writes in a worker process started with the variable set.
        value = MultiProcessValue(process_identifier=lambda worker=worker: worker)
        value(
            "counter",
            "studyhall_http_requests",
            "studyhall_http_requests_total",
            ("method", "route", "status"),
            ("GET", route, "200"),
            "HTTP requests by route template, method and status",
        ).inc(served)
        value(
            "gauge",
            "studyhall_jobs_pending",
            "studyhall_jobs_pending",
            (),
            (),
            "Jobs waiting in the queue",
            multiprocess_mode="mostrecent",
        ).set(pending, timestamp=at)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    assert families == {"studyhall_http_requests": "counter", "studyhall_jobs_pending": "gauge"}
    assert metric(response.text, "studyhall_http_requests_total", route=route) == 3 + 4
    # A queue gauge is the value last read from the queue, by any worker: not a sum.
    assert metric(response.text, "studyhall_jobs_pending") == 5.0
