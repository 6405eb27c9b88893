"""The job queue (huey): SqliteHuey in var/ by default, RedisHuey when STUDYHALL_REDIS_URL is set.

Tasks take ids or plain values (never secrets or message bodies: a job loads what it needs in
its own session), are enqueued after the commit with `enqueue_after_commit`, retry with
backoff, and report their state transitions to Prometheus. Periodic tasks are enqueued once
per tick for the whole installation, however many consumers run (see `OncePerTickScheduler`).
"""

from __future__ import annotations

import asyncio
import calendar
import os
import signal
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from huey import Huey, RedisHuey, SqliteHuey, signals
from huey.api import Task, TaskWrapper
from huey.consumer import Consumer, Scheduler
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from studyhall.core.cache import setup_cache
from studyhall.core.db import after_commit, make_engine, make_sessionmaker
from studyhall.core.metrics import JOBS, JOBS_PENDING, JOBS_SCHEDULED
from studyhall.core.settings import Settings, get_settings

log = structlog.get_logger("studyhall.jobs")
T = TypeVar("T")

DEFAULT_RETRIES = 5
DEFAULT_RETRY_DELAY = 2  # seconds, doubled on every retry by retry_backoff


# What a task may take: ids and short plain values. Text longer than this is a body (or a
# document), which belongs in a row the job reads by id.
JobArg = str | int | float | bool | uuid.UUID | datetime | date | None
_PLAIN_TYPES = (str, int, float, bool, uuid.UUID, datetime, date, type(None))
MAX_TEXT_ARG_CHARS = 256


def check_job_args(task_name: str, args: Sequence[object]) -> None:
    """Refuse anything but ids and short plain values (`JobArg`): a job loads the rest."""
    for position, value in enumerate(args):
        if not isinstance(value, _PLAIN_TYPES):
            raise TypeError(
                f"{task_name}: argument {position} is a {type(value).__name__}; jobs take ids "
                "and plain values and load the rest themselves"
            )
        if isinstance(value, str) and len(value) > MAX_TEXT_ARG_CHARS:
            raise ValueError(
                f"{task_name}: argument {position} has {len(value)} characters; a job carries "
                "ids, not bodies (store the text and pass its id)"
            )


class CheckedTaskWrapper(TaskWrapper):  # type: ignore[misc]
    """Every way of making a task's message (calling the task, `.s()`, our enqueue functions)
    checks its arguments first."""

    def s(self, *args: Any, **kwargs: Any) -> Task:
        name = self.task_class.__name__
        check_job_args(name, args)
        check_job_args(name, [v for k, v in kwargs.items() if k not in ("eta", "delay")])
        message: Task = super().s(*args, **kwargs)
        return message


def make_huey(settings: Settings) -> Huey:
    queue: Huey
    if settings.redis_url:
        queue = RedisHuey(settings.redis_namespace, url=settings.redis_url, utc=True)
    else:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        queue = SqliteHuey("studyhall", filename=str(settings.var_dir / "jobs.db"), utc=True)
    queue.task_wrapper_class = CheckedTaskWrapper
    return queue


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


# ---------------------------------------------------------------- enqueueing

PENDING_JOBS_KEY = "jobs_after_commit"


def _message(task: Any, args: Sequence[object]) -> Task:
    message: Task = task.s(*args)  # checks the arguments (CheckedTaskWrapper)
    return message


def enqueue_after_commit(
    session: AsyncSession, task: Any, *args: JobArg, once: bool = False
) -> None:
    """Queue `task(*args)` once the session's transaction has committed.

    All the jobs of one transaction go to the queue together, in one call on a worker thread
    (the queue's client blocks), after the COMMIT: a job never sees data that is not there
    yet, and a transaction that rolls back (raises, or is abandoned) queues nothing. Jobs
    belong to the outermost transaction: a rolled-back SAVEPOINT does not drop them.
    Arguments are checked here: ids and short plain values only (`JobArg`). With `once`, a
    job the transaction already queued with the same arguments is not queued again.
    """
    message = _message(task, args)
    if not session.sync_session.in_transaction():
        session.sync_session.begin()  # no I/O yet; a rollback must have a transaction to undo
    pending: list[Task] | None = session.info.get(PENDING_JOBS_KEY)
    if pending is None:
        pending = session.info[PENDING_JOBS_KEY] = []
        after_commit(session, lambda: _enqueue_pending(session))
    if once and any(_same_job(queued, message) for queued in pending):
        return
    pending.append(message)


def _same_job(one: Task, other: Task) -> bool:
    return bool(one.name == other.name and one.args == other.args)


async def enqueue_now(task: Any, *args: JobArg) -> None:
    """Queue `task(*args)` at once, tied to no transaction: for work owed even when the
    request's transaction rolls back (e.g. telling an owner their sign-in got locked)."""
    await enqueue_batch([_message(task, args)])


async def enqueue_batch(messages: Sequence[Task]) -> None:
    if messages:
        await asyncio.to_thread(_enqueue_all, list(messages))


def _enqueue_all(messages: list[Task]) -> None:
    for message in messages:
        huey.enqueue(message)


async def _enqueue_pending(session: AsyncSession) -> None:
    messages: list[Task] = session.info.pop(PENDING_JOBS_KEY, [])
    try:
        await enqueue_batch(messages)
    except Exception:
        # The transaction is committed: failing the request now would report an error for a
        # change that was made. The jobs are lost; say so loudly.
        log.exception("jobs_not_enqueued", tasks=[message.name for message in messages])


@event.listens_for(Session, "after_soft_rollback")
def _drop_jobs_of_rolled_back_transaction(
    session: Session, previous_transaction: SessionTransaction
) -> None:
    if previous_transaction.parent is None:  # the transaction itself, not a SAVEPOINT
        session.info.pop(PENDING_JOBS_KEY, None)


# ---------------------------------------------------------------- consumers

# An idle worker polls ever more slowly, up to this many seconds between polls (huey's default
# of 10 s would hold a sign-up email that long on the SQLite queue; Redis blocks instead).
IDLE_POLL_MAX_SECONDS = 1.0
# How long a periodic tick's claim is kept (it only has to outlive the tick).
TICK_CLAIM_KEEP = timedelta(days=1)


class TickClaims(Protocol):
    def claim(self, tick: datetime, owner: str) -> bool:
        """True for the first caller for `tick` across every process using the queue."""
        ...


def _tick_label(tick: datetime) -> str:
    return tick.strftime("%Y%m%dT%H%M%S")  # sorts as time does


class RedisTickClaims:
    """SET NX with an expiry: the first consumer to set the tick's key wins it."""

    def __init__(self, storage: RedisStorage) -> None:
        self._conn = storage.conn
        self._prefix = f"huey.periodic-tick.{storage.name}."

    def claim(self, tick: datetime, owner: str) -> bool:
        key = self._prefix + _tick_label(tick)
        keep = int(TICK_CLAIM_KEEP.total_seconds())
        return bool(self._conn.set(key, owner, nx=True, ex=keep))


class SqliteTickClaims:
    """A row per tick in the queue's own SQLite file, inserted in an exclusive transaction."""

    def __init__(self, storage: SqliteStorage) -> None:
        self._storage = storage
        storage.sql(
            "create table if not exists periodic_tick (queue text not null, tick text not null,"
            " owner text not null, primary key (queue, tick))",
            commit=True,
        )

    def claim(self, tick: datetime, owner: str) -> bool:
        queue = self._storage.name
        with self._storage.db(commit=True) as cursor:
            cursor.execute(
                "insert or ignore into periodic_tick (queue, tick, owner) values (?, ?, ?)",
                (queue, _tick_label(tick), owner),
            )
            claimed = bool(cursor.rowcount == 1)
            if claimed:
                cursor.execute(
                    "delete from periodic_tick where queue = ? and tick < ?",
                    (queue, _tick_label(tick - TICK_CLAIM_KEEP)),
                )
        return claimed


def tick_claims_for(queue: Huey) -> TickClaims:
    storage = queue.storage
    if isinstance(storage, RedisStorage):
        return RedisTickClaims(storage)
    if isinstance(storage, SqliteStorage):
        return SqliteTickClaims(storage)
    raise TypeError(f"no periodic tick claims for {type(storage).__name__}")


def _tick_start(now: datetime, tick_seconds: int) -> datetime:
    # huey's timestamps are naive UTC (utc=True); timegm reads them as UTC.
    seconds = calendar.timegm(now.utctimetuple())
    return datetime.fromtimestamp(seconds - seconds % tick_seconds, UTC)


class OncePerTickScheduler(Scheduler):  # type: ignore[misc]
    """Huey's scheduler, except that periodic tasks are enqueued once per tick for the whole
    installation, whatever the number of consumers (serve workers, `studyhall worker`s).

    Every consumer still checks the periodic tasks once a minute, but it first claims the
    tick (the minute) in the queue's own store; only the one that wins it enqueues, with
    task ids naming the tick. A consumer that dies holds nothing: the next tick is claimed by
    whichever consumer checks first. Delayed (ETA) tasks need no claim: reading them off
    the schedule is already atomic in huey's storages.
    """

    tick_seconds = 60  # crontab's resolution

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claims = tick_claims_for(self.huey) if self.periodic else None

    def enqueue_periodic_tasks(self, now: datetime | None) -> None:
        now = now or self.huey._get_timestamp()
        tick = _tick_start(now, self.tick_seconds)
        owner = f"{socket.gethostname()}:{os.getpid()}"
        try:
            claimed = self._claims is not None and self._claims.claim(tick, owner)
        except Exception:
            log.exception("periodic_tick_claim_failed", tick=_tick_label(tick))
            return
        if not claimed:
            return
        for task in self.huey.read_periodic(now):
            task.id = f"{task.name}@{_tick_label(tick)}"
            try:
                self.huey.enqueue(task)
            except Exception:
                log.exception("periodic_task_not_enqueued", task=task.name)


class StudyhallConsumer(Consumer):  # type: ignore[misc]
    scheduler_class = OncePerTickScheduler


def make_consumer(workers: int, queue: Huey | None = None) -> Consumer:
    """A consumer with `workers` threads; its periodic tasks are enqueued once per tick."""
    return StudyhallConsumer(
        queue if queue is not None else huey,
        workers=workers,
        worker_type="thread",
        periodic=True,
        max_delay=IDLE_POLL_MAX_SECONDS,
    )


def start_consumer(workers: int) -> Consumer:
    """Consume the queue on background threads of this process (the embedded default).

    Huey's start() installs its own SIGTERM/SIGINT/SIGHUP handlers, which would replace the
    web server's and leave `serve` deaf to Ctrl+C and SIGTERM; the process's handlers are
    put back (signal handlers can only be set from the main thread, where this runs).
    """
    consumer = make_consumer(workers)
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


# ---------------------------------------------------------------- running coroutines

# Huey runs tasks on its own threads, but our async backends are tied to an event loop (a
# Redis connection opened on one loop fails on another). A job's coroutine therefore runs on
# the web app's loop when this process serves the app, otherwise on one long-lived loop of
# the worker process.
JOB_TIMEOUT_SECONDS = 300
_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


@dataclass(frozen=True)
class JobContext:
    """What a job's coroutine works with: the settings and database of the process."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]


@dataclass(eq=False)
class _ServingApp:
    """An app serving on `loop`, and how many jobs use its database now."""

    loop: asyncio.AbstractEventLoop
    context: JobContext
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)


# The apps serving in this process, the latest last (tests start several in one process).
_serving: list[_ServingApp] = []


def register_app(context: JobContext) -> None:
    """Called by the app's lifespan on its loop: jobs then run their coroutines on that loop,
    with the app's settings and database pool."""
    app = _ServingApp(asyncio.get_running_loop(), context)
    app.idle.set()
    _serving.append(app)


async def forget_app(context: JobContext) -> None:
    """Called by the app's lifespan on shutdown, before its engine is disposed of: no new
    job uses the app, and the jobs using its database now finish first."""
    for app in [app for app in _serving if app.context is context]:
        _serving.remove(app)
        await app.idle.wait()


def _app_loop() -> asyncio.AbstractEventLoop | None:
    for app in reversed(_serving):
        if app.loop.is_running():
            return app.loop
    return None


def _serving_here() -> _ServingApp | None:
    loop = asyncio.get_running_loop()
    return next((app for app in reversed(_serving) if app.loop is loop), None)


@asynccontextmanager
async def job_context() -> AsyncIterator[JobContext]:
    """The settings and database a job's coroutine works with: the app's own on the app's
    loop (its shutdown waits for the job), otherwise the process's settings and an engine of
    the job's own, disposed of when the block ends (so none outlives the loop or app it was
    made for). Outside the app the cache is set up as the app sets it up."""
    app = _serving_here()
    if app is not None:
        app.in_flight += 1
        app.idle.clear()
        try:
            yield app.context
        finally:
            app.in_flight -= 1
            if not app.in_flight:
                app.idle.set()
        return
    settings = get_settings()
    setup_cache(settings.redis_url, settings.redis_namespace)
    engine = make_engine(settings)
    try:
        yield JobContext(settings, make_sessionmaker(engine))
    finally:
        await engine.dispose()


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
    loop = _app_loop() or _worker_loop()

    async def run() -> T:
        return await factory()

    return asyncio.run_coroutine_threadsafe(run(), loop).result(JOB_TIMEOUT_SECONDS)
