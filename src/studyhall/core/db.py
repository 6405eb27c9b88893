"""Async engine, session factory and the declarative base every module's models share."""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Executable, MetaData, Row, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from studyhall.core.errors import Conflict
from studyhall.core.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite returns naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.is_sqlite:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=settings.database_echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout. After a database restart the
    # first statement on a dead connection fails, and SQLAlchemy then drops the whole pool.
    # Overflow connections are closed when returned: a pool too small for the usual
    # concurrency reconnects (TLS attempt, statement preparation) all the time.
    return create_async_engine(
        url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the caller finishes, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
            await commit_and_run_hooks(session)
        except BaseException as exc:
            if getattr(exc, "commit_anyway", False):
                await commit_and_run_hooks(session)
                raise
            session.info.pop(AFTER_COMMIT_KEY, None)
            await session.rollback()
            conflict = unique_violation_conflict(exc)
            if conflict is not None:
                raise conflict from exc
            raise


# A unique column's `info` may name the 409 its violation answers, the same code as the
# service's own check (which a concurrent request can slip past): {CONFLICT_CODE: ..., ...}.
CONFLICT_CODE = "conflict_code"
CONFLICT_DETAIL = "conflict_detail"
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.(\w+)")
_POSTGRES_KEY = re.compile(r"Key \((\w+)\)=")


def unique_violation_conflict(exc: BaseException) -> Conflict | None:
    """A 409 for a unique-constraint violation (checked-then-inserted rows that another
    transaction inserted first); None for any other error, which stays as it is."""
    if not isinstance(exc, IntegrityError):
        return None
    where = _unique_violation_column(exc.orig)
    if where is None:
        return None
    table, column = where
    info = _column_info(table, column)
    return Conflict(
        str(info.get(CONFLICT_DETAIL, "This already exists; it may have just been created.")),
        code=str(info.get(CONFLICT_CODE, "already_exists")),
    )


def _unique_violation_column(error: BaseException | None) -> tuple[str, str] | None:
    """(table, column) of a violated unique constraint ("" for a column not known), or None
    when the error is not a unique violation."""
    if getattr(error, "sqlstate", None) == "23505":  # PostgreSQL (asyncpg, adapted)
        cause = error.__cause__ if error is not None else None
        key = _POSTGRES_KEY.match(str(getattr(cause, "detail", "") or ""))
        return str(getattr(cause, "table_name", "") or ""), key.group(1) if key else ""
    message = str(error)
    if message.startswith("UNIQUE constraint failed"):  # SQLite (composite: first column)
        found = _SQLITE_UNIQUE.match(message)
        return (found.group(1), found.group(2)) if found else ("", "")
    return None


def _column_info(table: str, column: str) -> Mapping[str, Any]:
    found = Base.metadata.tables.get(table)
    if found is None or column not in found.c:
        return {}
    return found.c[column].info


async def read_autocommit(
    db: AsyncSession, statement: Executable, parameters: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """Run a read on a pooled connection of its own, in autocommit mode.

    For the lookup every request makes (who is signed in): no BEGIN and COMMIT round trips,
    and a request answered from the cache never opens a transaction at all. It does not see
    the session's uncommitted writes.
    """
    if not isinstance(db.bind, AsyncEngine):
        return (await db.execute(statement, parameters)).all()
    async with db.bind.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await autocommit.execute(statement, parameters)).all()


__all__ = ["Base", "Engine", "Timestamps", "UUIDPrimaryKey", "make_engine", "utcnow"]


AFTER_COMMIT_KEY = "after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], object]) -> None:
    """Run `callback()` once the surrounding transaction commits (e.g. to enqueue a job).

    A callback may return an awaitable (an async function's call); it is awaited.
    """
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


async def commit_and_run_hooks(session: AsyncSession) -> None:
    """Commit, then run the `after_commit` callbacks."""
    await session.commit()
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        result = callback()
        if inspect.isawaitable(result):
            await result
