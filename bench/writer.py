"""Bulk rows into Studyhall's tables: asyncpg COPY on PostgreSQL, executemany elsewhere.

Both paths take the same records (tuples in a stated column order, Python values), so the
smoke test seeds through this code on SQLite as well.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Table, func, literal, null, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from studyhall.models import metadata


def table(name: str) -> Table:
    return metadata.tables[name]


def all_tables() -> list[str]:
    return [t.name for t in metadata.sorted_tables]


class RowWriter:
    """Writes records to the tables over one connection, inside its transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.is_postgres = conn.dialect.name == "postgresql"
        self.written: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._deferred_indexes: list[tuple[str, str]] = []
        self._deferred_keys: list[tuple[str, str, str]] = []

    async def write(
        self, name: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> int:
        """Insert `records` (values in `columns` order; every column of the table must be
        named, so no default is left to chance). Returns the number of rows."""
        target = table(name)
        missing = set(target.columns.keys()) - set(columns)
        unknown = set(columns) - set(target.columns.keys())
        if missing or unknown:
            raise ValueError(f"{name}: missing columns {missing}, unknown columns {unknown}")
        rows = list(records)
        if not rows:
            return 0
        started = time.perf_counter()
        if self.is_postgres:
            await self._copy(target, columns, rows)
        else:
            await self._insert(target, columns, rows)
        self.written[name] = self.written.get(name, 0) + len(rows)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return len(rows)

    async def _insert(
        self, target: Table, columns: Sequence[str], rows: list[Sequence[Any]]
    ) -> None:
        # None in a JSON column is JSON `null` to SQLAlchemy; `null()` is the SQL NULL the
        # ORM (and COPY) write for a missing value.
        json_columns = {c for c in columns if isinstance(target.columns[c].type, JSON)}
        params = [
            {
                column: null() if value is None and column in json_columns else value
                for column, value in zip(columns, row, strict=True)
            }
            for row in rows
        ]
        await self.conn.execute(target.insert(), params)

    async def _copy(self, target: Table, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
        json_at = [i for i, c in enumerate(columns) if isinstance(target.columns[c].type, JSON)]
        if json_at:
            rows = [_json_encoded(row, json_at) for row in rows]
        raw = await self.conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(target.name, records=rows, columns=list(columns))

    async def begin_bulk_load(self, tables: Sequence[str]) -> None:
        """PostgreSQL: load the way pg_restore does. Foreign-key triggers are off for this
        transaction (`end_bulk_load` proves every key afterwards), and the indexes of
        `tables` (secondary ones, and primary/unique keys no foreign key depends on) are
        dropped, to be rebuilt once by `end_bulk_load` from their exact definitions: one sort
        instead of a million random inserts. Elsewhere: nothing (small data sets)."""
        if not self.is_postgres:
            return
        names = [table(name).name for name in tables]
        await self.conn.execute(text("SET LOCAL session_replication_role = replica"))
        keys = await self.conn.execute(
            text(
                "SELECT c.conname, t.relname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = current_schema() AND t.relname = ANY(:tables) "
                "AND c.contype IN ('p', 'u') AND NOT EXISTS (SELECT 1 FROM pg_constraint f "
                "WHERE f.contype = 'f' AND f.confrelid = c.conrelid)"
            ),
            {"tables": names},
        )
        self._deferred_keys = [(str(n), str(t), str(d)) for n, t, d in keys]
        indexes = await self.conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            ),
            {"tables": names},
        )
        self._deferred_indexes = [(str(name), str(definition)) for name, definition in indexes]
        for name, table_name, _ in self._deferred_keys:
            await self.conn.execute(text(f'ALTER TABLE "{table_name}" DROP CONSTRAINT "{name}"'))
        for name, _ in self._deferred_indexes:
            await self.conn.execute(text(f'DROP INDEX "{name}"'))

    async def end_bulk_load(self) -> None:
        """Rebuild what `begin_bulk_load` dropped, turn the triggers back on and check every
        foreign key of the written tables."""
        if not self.is_postgres:
            return
        for name, table_name, definition in self._deferred_keys:
            await self.conn.execute(
                text(f'ALTER TABLE "{table_name}" ADD CONSTRAINT "{name}" {definition}')
            )
        for _, definition in self._deferred_indexes:
            await self.conn.execute(text(definition))
        self._deferred_keys, self._deferred_indexes = [], []
        await self.conn.execute(text("SET LOCAL session_replication_role = origin"))
        await self.check_integrity()

    async def check_integrity(self) -> None:
        """Every foreign key of every written table points at an existing row (an anti-join
        per key); raises otherwise."""
        for name in self.written:
            target = table(name)
            for key in target.foreign_keys:
                child = key.parent
                parent = key.column.table.alias("parent")
                points_somewhere = (
                    select(literal(1))
                    .select_from(parent)
                    .where(parent.c[key.column.name] == child)
                    .exists()
                )
                orphans = await self.conn.scalar(
                    select(func.count())
                    .select_from(target)
                    .where(child.is_not(None), ~points_somewhere)
                )
                if orphans:
                    raise RuntimeError(f"{orphans} rows of {name}.{child.name} point nowhere")


def _json_encoded(row: Sequence[Any], positions: Sequence[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in positions:
        if values[i] is not None:
            values[i] = json.dumps(values[i])
    return tuple(values)


# ---------------------------------------------------------------- databases


def _admin_url(database_url: str) -> tuple[str, str]:
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ValueError("the benchmark runs on PostgreSQL: give a postgresql+asyncpg:// URL")
    assert url.database, "the URL must name a database"
    return url.set(database="postgres").render_as_string(hide_password=False), url.database


async def ensure_database(database_url: str, reset: bool = False) -> bool:
    """Create the database if missing (dropping it first when `reset`); True if created."""
    admin_url, name = _admin_url(database_url)
    quoted = '"' + name.replace('"', '""') + '"'
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if reset:
                await conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                return False
            await conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        await engine.dispose()


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as a plain DSN asyncpg takes (for the baseline app)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def vacuum_analyze(database_url: str, tables: Sequence[str]) -> None:
    """What autovacuum would do after a bulk load: statistics for the planner and a visibility
    map, so index-only scans (percentile counts) skip the heap."""
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for name in tables:
                await conn.execute(text(f'VACUUM (ANALYZE) "{table(name).name}"'))
    finally:
        await engine.dispose()
