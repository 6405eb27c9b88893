"""Helpers for the plumbing tests: extra apps built with other settings, captured JSON log
lines, /metrics samples, and polling without fixed sleeps."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from limits import parse
from prometheus_client.parser import text_string_to_metric_families

from studyhall.app import create_app
from studyhall.core.ratelimit import get_limiter
from studyhall.core.settings import Settings

AppFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def make_app(settings: Settings, migrated_database: str) -> AppFactory:
    """Build and start a separate app with some settings changed, plus a client for it.

    The job consumer stays off (the session app's consumer serves the shared queue). Cache
    and limiter are shared with the session app (configuring them again with the same URL
    keeps them), so the limiter's counters are reset on the way out.
    """

    @asynccontextmanager
    async def factory(
        *,
        client_ip: str = "127.0.0.1",
        base_url: str = "http://testserver",
        setup: Callable[[FastAPI], None] | None = None,
        **overrides: Any,
    ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        overrides.setdefault("run_worker_in_process", False)
        if "rate_limit_global" in overrides:
            await clear_of_window_edge(parse(overrides["rate_limit_global"]).get_expiry())
        application = create_app(settings.model_copy(update=overrides))
        add_ping_route(application)
        if setup is not None:
            setup(application)
        try:
            async with application.router.lifespan_context(application):
                transport = httpx.ASGITransport(app=application, client=(client_ip, 50000))
                async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
                    yield application, http
        finally:
            await get_limiter().reset()

    return factory


async def clear_of_window_edge(period: int, margin: float = 2.0) -> None:
    """Wait for the next clock-aligned window if this one ends within `margin` seconds.

    The global and per-user rules count in clock-aligned windows, so a test counting hits up
    to a limit must not straddle a window's end.
    """
    left = period - time.time() % period
    if left < margin:
        await asyncio.sleep(left + 0.05)


PING = "/api/v1/test/ping"


def add_ping_route(app: FastAPI) -> None:
    """A cheap API route for tests that only care about what the middleware does."""

    @app.get(PING)
    async def ping() -> dict[str, str]:
        return {"status": "pong"}


class LogCapture:
    """JSON lines written through the root logger while the capture is active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == event]


@contextmanager
def capture_logs(level: int = logging.INFO) -> Iterator[LogCapture]:
    """Copy every log line, rendered by the app's own formatter, into a buffer.

    create_app() replaces the root logger's handlers, so start capturing only after every app
    the test needs has been created.
    """
    root = logging.getLogger()
    formatters = [handler.formatter for handler in root.handlers if handler.formatter]
    assert formatters, "configure_logging() has not run; create an app first"
    capture = LogCapture()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(formatters[0])
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 20, message: str = ""
) -> None:
    """Poll `check` until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(message or f"condition not met within {within}s")
