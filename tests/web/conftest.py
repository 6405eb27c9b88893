"""A live server and a real browser (Debian's chromium through Playwright) for the page tests.

The server is uvicorn serving `create_app()` as a task on the tests' own event loop rather
than in a thread: the cache and rate-limit backends are process-wide, and with Redis their
connections belong to the loop that opened them, so a second loop would break them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from studyhall.app import create_app
from studyhall.core.settings import Settings
from tests.backends import free_port
from tests.web.support import AXE_SCRIPT, AXE_URL_PATH

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
HAVE_AXE = AXE_SCRIPT.exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_SECONDS = 15
# Generous waits: a loaded CI machine can take seconds for a page with Argon2 and axe-core.
ACTION_TIMEOUT_MS = 20_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)


class _LoopServer(uvicorn.Server):
    """uvicorn without signal handlers: it runs inside pytest, which keeps Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
            raise RuntimeError("the live server stopped during startup")
        if loop.time() > deadline:
            raise TimeoutError(f"the live server did not start within {STARTUP_SECONDS}s")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
async def live_server(app: FastAPI, settings: Settings) -> AsyncIterator[str]:
    """The base URL of a real HTTP server on the test database, mailbox and backends.

    Depending on `app` makes the conftest wipe tables, cache and rate limits after each test
    and keeps its job consumer delivering mail to the test SMTP server.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    live_app = create_app(settings.model_copy(update={"base_url": url}))
    config = uvicorn.Config(
        live_app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        ws="none",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = _LoopServer(config)
    task = asyncio.create_task(server.serve())
    await _wait_started(server, task)
    yield url
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make e2e-deps)")
    if not HAVE_AXE:
        pytest.fail(f"axe-core is missing at {AXE_SCRIPT}; run `make e2e-deps`")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def browser_context(browser: Browser, live_server: str) -> AsyncIterator[BrowserContext]:
    """A fresh profile per test, with the Content-Security-Policy enforced as in production.

    axe-core is served from the site's own origin (the route below), so injecting it needs
    no exception to `script-src 'self'`.
    """
    context = await browser.new_context(base_url=live_server, accept_downloads=True)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    await context.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_SCRIPT, content_type="text/javascript"),
    )
    yield context
    await context.close()


@pytest.fixture
async def page(browser_context: BrowserContext) -> AsyncIterator[Page]:
    """A tab that fails the test on any script error or Content-Security-Policy violation."""
    tab = await browser_context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield tab
    assert not problems, "\n".join(problems)
