"""Domain events: a transactional outbox, delivered by the worker after the commit.

A module announces what happened with `emit(session, event)`: the event is inserted into
`outbox_events` by the transaction that made it happen, so a rollback emits nothing and a
crash after the commit loses nothing. Modules that care subscribe a handler:

    @subscribe(AttemptSubmitted, "analytics.record_submission")
    async def record(session: AsyncSession, event: AttemptSubmitted) -> None: ...

A delivery pass (`deliver_pending`, run by the worker right after a committing transaction
emitted, and every minute as a sweep) fans each new event out to one `event_deliveries` row
per subscribed handler, then runs the due deliveries in event order, each handler inside a
SAVEPOINT of the pass's transaction: its writes and its delivery record commit together, so a
delivered event is never applied twice by us. Delivery is still at least once from the
handler's point of view (a handler's side effects outside the database, or a pass that dies
between a handler's cache call and the commit, repeat): handlers must be idempotent.

- Order: per (handler, aggregate key) in `seq` order. A handler that failed for an aggregate
  holds that handler's later events of the same aggregate until it succeeds or gives up;
  other aggregates and other handlers go on. `seq` is the insert order: two transactions that
  emit for one aggregate at the same time may commit in the other order, so an emitter that
  needs a strict order serializes them (a row lock on the aggregate).
- Retries: exponential backoff (`RETRY_BASE_SECONDS` doubled per failure) up to
  `MAX_ATTEMPTS` tries; then the delivery is marked failed, logged and counted, and stops
  holding the aggregate's later events.
- One pass at a time per installation: a pass starts by writing the single row of
  `event_delivery_lock`, which PostgreSQL holds as a row lock and SQLite as its write lock
  until the pass commits. Passes are short (bounded batches), each in its own transaction.
- An event class is a pydantic model with a class-level `name` and `aggregate` (the field
  whose value is the aggregate key). Its payload is JSON: a subscriber may read it with the
  emitter's class, or, where importing the emitter would break the layers (a lower module
  listening to a higher one), with a class of its own that the emitter's event extends
  (fields it does not know are ignored).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import structlog
from huey import crontab
from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, aliased, mapped_column

from studyhall.core.db import (
    AFTER_COMMIT_KEY,
    Base,
    commit_and_run_hooks,
    utcnow,
)
from studyhall.core.jobs import enqueue_after_commit, huey, job_context, run_async, task
from studyhall.core.metrics import EVENT_DELIVERIES

log = structlog.get_logger("studyhall.events")

MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 5  # 5 s, 10 s, 20 s … about 10 minutes before the last try
FANOUT_BATCH = 200
DELIVERY_BATCH = 50
# Delivered events are kept this long for inspection, then purged by the sweep.
KEEP_DELIVERED = timedelta(days=7)
ERROR_LENGTH = 2000


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# ---------------------------------------------------------------- tables


class OutboxEvent(Base):
    """An event emitted by a committed transaction. `dispatched_at` is set once its
    deliveries (one per subscribed handler) exist."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_dispatched_seq", "dispatched_at", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    aggregate_key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)


class EventDelivery(Base):
    """One event for one handler: its tries, and whether it was delivered or given up."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        Index("ix_event_deliveries_due", "status", "next_attempt_at"),
        # The "an earlier event of this aggregate is still held" check.
        Index("ix_event_deliveries_queue", "handler", "aggregate_key", "status", "event_seq"),
    )

    event_seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("outbox_events.seq", ondelete="CASCADE"),
        primary_key=True,
    )
    handler: Mapped[str] = mapped_column(String(100), primary_key=True)
    aggregate_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class EventDeliveryLock(Base):
    """One row; a delivery pass writes it first, so passes take turns."""

    __tablename__ = "event_delivery_lock"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    pass_started_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- events and subscribers


class DomainEvent(BaseModel):
    """Base of every event: a class-level `name` ("attempt.submitted") and `aggregate`, the
    field whose value orders delivery (events of one aggregate reach a handler in order)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    aggregate: ClassVar[str]

    def aggregate_key(self) -> str:
        return str(getattr(self, self.aggregate))


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[AsyncSession, Any], Awaitable[None]]
TypedHandler = Callable[[AsyncSession, E], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    handler_name: str
    event_type: type[DomainEvent]
    handler: Handler


_subscriptions: dict[str, Subscription] = {}


def subscribe(
    event_type: type[E], handler_name: str
) -> Callable[[TypedHandler[E]], TypedHandler[E]]:
    """Register an async `handler(session, event)` for events named `event_type.name`.

    `handler_name` is stored with each delivery: keep it stable ("analytics.record_submission").
    The handler runs in the delivery pass's transaction (flush only, never commit) and must be
    idempotent. Subscribers must be imported by every process that runs the worker (the
    module's `tasks` or `subscribers`, imported from `studyhall.tasks`).
    """

    def register(handler: TypedHandler[E]) -> TypedHandler[E]:
        known = _subscriptions.get(handler_name)
        if known is not None and known.handler is not handler:
            raise ValueError(f"an event handler named {handler_name!r} is already registered")
        _subscriptions[handler_name] = Subscription(handler_name, event_type, handler)
        return handler

    return register


def subscriptions_for(event_name: str) -> list[Subscription]:
    return [s for s in _subscriptions.values() if s.event_type.name == event_name]


def emit(session: AsyncSession, event: DomainEvent) -> None:
    """Write `event` to the outbox in the session's transaction (flushed with it) and have
    the worker deliver it once the transaction commits. A rollback takes it back."""
    session.add(
        OutboxEvent(
            name=event.name,
            aggregate_key=event.aggregate_key(),
            payload=event.model_dump(mode="json"),
            occurred_at=utcnow(),
        )
    )
    # One delivery pass per transaction, however many events, queued with the transaction's
    # other jobs after its commit (if the queue cannot be reached then, the minute sweep
    # delivers what is left).
    enqueue_after_commit(session, deliver_events_task, once=True)


# ---------------------------------------------------------------- delivery


@dataclass
class PassResult:
    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def worked(self) -> bool:
        return bool(self.fanned_out or self.delivered or self.retried or self.failed)


async def deliver_pending(
    factory: async_sessionmaker[AsyncSession], now: datetime | None = None, max_passes: int = 100
) -> PassResult:
    """Run delivery passes until nothing is due (or `max_passes`): fan new events out, run
    the due deliveries. `now` (tests) stands for the current time when deciding what is due.
    Returns the totals of the passes.

    The calling process must have imported every subscriber (`studyhall.tasks`; importing
    `studyhall.app` does): an event is fanned out to the handlers registered at that moment.
    """
    total = PassResult()
    for _ in range(max_passes):
        result = await delivery_pass(factory, now)
        total.fanned_out += result.fanned_out
        total.delivered += result.delivered
        total.retried += result.retried
        total.failed += result.failed
        if not result.worked:
            break
    return total


async def delivery_pass(
    factory: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> PassResult:
    """One bounded pass in one transaction, taking its turn after any pass running now."""
    result = PassResult()
    async with factory() as session:
        try:
            await take_delivery_turn(session)
            moment = now or utcnow()
            result.fanned_out = await _fan_out(session, moment)
            await _deliver_due(session, moment, result)
            await commit_and_run_hooks(session)
        except BaseException:
            session.info.pop(AFTER_COMMIT_KEY, None)
            await session.rollback()
            raise
    return result


async def take_delivery_turn(session: AsyncSession) -> None:
    """Write the delivery lock row in the session's transaction: wait for the delivery pass
    running now, and hold any other off until this transaction ends (delivery passes; and
    whatever must not interleave with one, e.g. a test wiping the tables)."""
    dialect = session.get_bind().dialect.name
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_into(EventDeliveryLock).values(id=1, pass_started_at=utcnow())
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"pass_started_at": statement.excluded.pass_started_at}
        )
    )


async def _fan_out(session: AsyncSession, now: datetime) -> int:
    """One delivery row per subscribed handler for each new event (oldest first)."""
    rows = (
        await session.execute(
            select(OutboxEvent.seq, OutboxEvent.name, OutboxEvent.aggregate_key)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.seq)
            .limit(FANOUT_BATCH)
        )
    ).all()
    if not rows:
        return 0
    deliveries = [
        {
            "event_seq": seq,
            "handler": subscription.handler_name,
            "aggregate_key": key,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for seq, name, key in rows
        for subscription in subscriptions_for(name)
    ]
    if deliveries:
        await session.execute(insert(EventDelivery), deliveries)
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.seq.in_([seq for seq, _, _ in rows]))
        .values(dispatched_at=now)
    )
    return len(rows)


def _due_deliveries_query(now: datetime, handlers: Sequence[str]) -> Any:
    """Due pending deliveries of known handlers, oldest event first, except those behind an
    earlier delivery of the same handler and aggregate that waits for its retry."""
    waiting = aliased(EventDelivery)
    held_back = exists().where(
        and_(
            waiting.handler == EventDelivery.handler,
            waiting.aggregate_key == EventDelivery.aggregate_key,
            waiting.status == DeliveryStatus.PENDING,
            waiting.event_seq < EventDelivery.event_seq,
            waiting.next_attempt_at > now,
        )
    )
    return (
        select(EventDelivery, OutboxEvent.name, OutboxEvent.payload)
        .join(OutboxEvent, OutboxEvent.seq == EventDelivery.event_seq)
        .where(
            EventDelivery.status == DeliveryStatus.PENDING,
            EventDelivery.next_attempt_at <= now,
            EventDelivery.handler.in_(list(handlers)),
            ~held_back,
        )
        .order_by(EventDelivery.event_seq, EventDelivery.handler)
        .limit(DELIVERY_BATCH)
    )


async def _deliver_due(session: AsyncSession, now: datetime, result: PassResult) -> None:
    if not _subscriptions:
        return
    rows = (await session.execute(_due_deliveries_query(now, list(_subscriptions)))).all()
    held: set[tuple[str, str]] = set()  # (handler, aggregate) that failed in this pass
    for delivery, name, payload in rows:
        queue = (delivery.handler, delivery.aggregate_key)
        if queue in held:
            continue
        subscription = _subscriptions[delivery.handler]
        error = await _run_handler(session, subscription, payload)
        delivery.attempts += 1
        if error is None:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.finished_at = utcnow()
            delivery.last_error = None
            result.delivered += 1
            EVENT_DELIVERIES.labels(name, delivery.handler, "delivered").inc()
            continue
        held.add(queue)
        delivery.last_error = error[:ERROR_LENGTH]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.finished_at = utcnow()
            result.failed += 1
            EVENT_DELIVERIES.labels(name, delivery.handler, "failed").inc()
            log.error(
                "event_delivery_failed",
                event_name=name,
                event_seq=delivery.event_seq,
                handler=delivery.handler,
                attempts=delivery.attempts,
                error=delivery.last_error,
            )
        else:
            delay = RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            result.retried += 1
            EVENT_DELIVERIES.labels(name, delivery.handler, "retrying").inc()
            log.warning(
                "event_delivery_retrying",
                event_name=name,
                event_seq=delivery.event_seq,
                handler=delivery.handler,
                attempts=delivery.attempts,
                retry_in_seconds=delay,
                error=delivery.last_error,
            )
    await session.flush()


async def _run_handler(
    session: AsyncSession, subscription: Subscription, payload: dict[str, Any]
) -> str | None:
    """Run one handler in a SAVEPOINT; the error text when it raised (its writes undone)."""
    try:
        event = subscription.event_type.model_validate(payload)
        async with session.begin_nested():
            await subscription.handler(session, event)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def purge_delivered(
    factory: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Delete events dispatched more than `KEEP_DELIVERED` ago whose deliveries are all
    finished (delivered or failed). Returns how many."""
    cutoff = (now or utcnow()) - KEEP_DELIVERED
    unfinished = exists().where(
        EventDelivery.event_seq == OutboxEvent.seq,
        EventDelivery.status == DeliveryStatus.PENDING,
    )
    async with factory() as session:
        await take_delivery_turn(session)
        deleted = await session.execute(
            delete(OutboxEvent).where(OutboxEvent.dispatched_at < cutoff, ~unfinished)
        )
        await session.commit()
    return int(getattr(deleted, "rowcount", 0) or 0)


# ---------------------------------------------------------------- the worker's side


async def deliver_now() -> int:
    """Deliver everything due, from a job. Returns how many deliveries finished."""
    async with job_context() as job:
        result = await deliver_pending(job.sessionmaker)
    return result.delivered + result.failed


@task(retries=2, retry_delay=1)  # type: ignore[untyped-decorator]
def deliver_events_task() -> int:
    return run_async(deliver_now)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def sweep_events_job() -> int:
    """What an enqueue lost (a crash between commit and enqueue) and retries now due; and
    the purge of old delivered events."""

    async def sweep() -> int:
        async with job_context() as job:
            result = await deliver_pending(job.sessionmaker)
            await purge_delivered(job.sessionmaker)
        return result.delivered + result.failed

    return run_async(sweep)
