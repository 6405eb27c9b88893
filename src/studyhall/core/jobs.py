"""The job queue (huey): SqliteHuey in var/ by default, RedisHuey when STUDYHALL_REDIS_URL is set.

Tasks take ids or plain values, are enqueued after the commit, retry with backoff, and report
their state transitions to Prometheus.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from huey import Huey, RedisHuey, SqliteHuey, signals
from huey.consumer import Consumer

from studyhall.core.metrics import JOBS, JOBS_PENDING, JOBS_SCHEDULED
from studyhall.core.settings import Settings, get_settings

log = structlog.get_logger("studyhall.jobs")
T = TypeVar("T")

DEFAULT_RETRIES = 5
DEFAULT_RETRY_DELAY = 2  # seconds, doubled on every retry by retry_backoff


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.redis_namespace, url=settings.redis_url, utc=True)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("studyhall", filename=str(settings.var_dir / "jobs.db"), utc=True)


huey: Huey = make_huey(get_settings())


def task(
    retries: int = DEFAULT_RETRIES, retry_delay: int = DEFAULT_RETRY_DELAY, **kwargs: Any
) -> Any:
    """Declare a background task with retries and exponential backoff."""
    return huey.task(retries=retries, retry_delay=retry_delay, retry_backoff=2, **kwargs)


_STATE_SIGNALS = {
    signals.SIGNAL_ENQUEUED: "enqueued",
    signals.SIGNAL_EXECUTING: "executing",
    signals.SIGNAL_COMPLETE: "complete",
    signals.SIGNAL_ERROR: "error",
    signals.SIGNAL_RETRYING: "retrying",
    signals.SIGNAL_EXPIRED: "expired",
    signals.SIGNAL_REVOKED: "revoked",
}


@huey.signal()  # type: ignore[untyped-decorator]
def _count_state(signal: str, task: Any, exc: BaseException | None = None) -> None:
    state = _STATE_SIGNALS.get(signal)
    if state is None:
        return
    JOBS.labels(task.name, state).inc()
    if signal == signals.SIGNAL_ERROR:
        log.warning("job_failed", task=task.name, task_id=task.id, error=repr(exc))


def refresh_queue_gauges() -> None:
    JOBS_PENDING.set(huey.pending_count())
    JOBS_SCHEDULED.set(huey.scheduled_count())


def queue_ping() -> bool:
    huey.pending_count()
    return True


# An idle worker polls ever more slowly, up to this many seconds between polls (huey's default
# of 10 s would hold a sign-up email that long on the SQLite queue; Redis blocks instead).
IDLE_POLL_MAX_SECONDS = 1.0


def start_consumer(workers: int) -> Consumer:
    """Consume the queue on background threads of this process (the embedded default).

    Huey's start() installs its own SIGTERM/SIGINT/SIGHUP handlers, which would replace the
    web server's and leave `serve` deaf to Ctrl+C and SIGTERM; the process's handlers are
    put back (signal handlers can only be set from the main thread, where this runs).
    """
    consumer = Consumer(huey, workers=workers, worker_type="thread", periodic=True)
    kept = _current_handlers()
    consumer.start()
    for signum, handler in kept.items():
        signal.signal(signum, handler)
    return consumer


def _current_handlers() -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    names = ("SIGTERM", "SIGINT", "SIGHUP")
    return {
        getattr(signal, name): signal.getsignal(getattr(signal, name))
        for name in names
        if hasattr(signal, name)
    }


def stop_consumer(consumer: Consumer) -> None:
    consumer.stop(graceful=True)


# Huey runs tasks on its own threads, but our async backends are tied to an event loop (a
# Redis connection opened on one loop fails on another). A job's coroutine therefore runs on
# the web app's loop when this process serves the app, otherwise on one long-lived loop of
# the worker process.
JOB_TIMEOUT_SECONDS = 300
_app_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


def register_app_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Called by the app's lifespan (with None on shutdown)."""
    global _app_loop
    _app_loop = loop


def _worker_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _own_loop_lock:
        if _own_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="job-loop", daemon=True).start()
            _own_loop = loop
        return _own_loop


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run `factory()` to completion from a job thread, on the loop our backends belong to."""
    loop = _app_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        loop = _worker_loop()

    async def run() -> T:
        return await factory()

    return asyncio.run_coroutine_threadsafe(run(), loop).result(JOB_TIMEOUT_SECONDS)
