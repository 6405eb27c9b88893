"""Folding a submitted attempt into the aggregates, when analytics receives `attempt.submitted`.

The delivery passes of `core.events` take turns, so within one installation the shared rank
bucket rows are written by one transaction at a time, and always together with the
`user_stats` rows their changes were computed from: the buckets stay exactly what a rebuild
from `user_stats` gives, at every commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from functools import cache
from typing import Any

from sqlalchemy import Float, cast, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.expression import ColumnElement

from studyhall.analytics.models import (
    AttemptResult,
    ItemResponse,
    RankBucket,
    UserDailyStats,
    UserStats,
    UserSubjectStats,
)
from studyhall.analytics.ranking import buckets_of
from studyhall.analytics.schemas import ItemRecord, SubmissionRecord
from studyhall.analytics.service.keys import invalidate_after_submission
from studyhall.core.db import utcnow

COUNTERS = ("answered", "correct", "time_seconds")
_CURRENT_STATS = ("answered", "correct", "time_seconds", "accuracy", "avg_time_seconds")

Insert = postgresql.Insert | sqlite.Insert


def _dialect(db: AsyncSession) -> str:
    return db.get_bind().dialect.name


def _insert(dialect: str, model: type[Any]) -> Insert:
    """INSERT … ON CONFLICT for the session's backend (both speak the same upsert)."""
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"analytics upserts support PostgreSQL and SQLite, not {dialect}")


def _totals(items: Sequence[ItemRecord]) -> dict[str, int]:
    answered = [item for item in items if item.answered]
    return {
        "answered": len(answered),
        "correct": sum(1 for item in answered if item.is_correct),
        "time_seconds": sum(max(0, item.time_spent_seconds) for item in answered),
    }


@cache
def _adding_upsert(
    dialect: str,
    model: type[Any],
    keys: tuple[str, ...],
    counters: tuple[str, ...] = COUNTERS,
    extra: Callable[[Any, Any], Mapping[str, ColumnElement[Any]]] | None = None,
    returning: tuple[str, ...] = (),
) -> Insert | ReturningInsert[*tuple[Any, ...]]:
    """INSERT the rows given as parameters, or add their counters to the rows already there
    (atomic per row); RETURNING the `returning` columns as they are now.

    Built once per shape and executed with the rows as parameters, so SQLAlchemy compiles it
    once (a VALUES list of the rows themselves would compile anew for every row count).
    """
    statement = _insert(dialect, model)
    table, excluded = model.__table__, statement.excluded
    updates: dict[str, Any] = {name: table.c[name] + excluded[name] for name in counters}
    if extra is not None:
        updates.update(extra(table, excluded))
    upsert = statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
    if returning:
        return upsert.returning(*(table.c[name] for name in returning))
    return upsert


def _bucket_changes(totals: Mapping[str, int], current: Any) -> dict[tuple[str, int], int]:
    """+1/-1 per (measure, bucket) for a user whose totals went from `current - totals` to
    `current`.

    The old rates are recomputed from the old totals: the same division of the same integers
    that stored them, so they land in the buckets they were counted in.
    """
    changes: dict[tuple[str, int], int] = defaultdict(int)
    new = buckets_of(current.answered, current.accuracy, current.avg_time_seconds)
    old_answered = current.answered - totals["answered"]
    if old_answered > 0:
        old = buckets_of(
            old_answered,
            (current.correct - totals["correct"]) / old_answered,
            (current.time_seconds - totals["time_seconds"]) / old_answered,
        )
        for measure, bucket in old.items():
            changes[(measure.value, bucket)] -= 1
    for measure, bucket in new.items():
        changes[(measure.value, bucket)] += 1
    return {key: delta for key, delta in changes.items() if delta}


async def _apply_bucket_changes(db: AsyncSession, changes: Mapping[tuple[str, int], int]) -> None:
    """Add the +/- of one submission to the shared rank bucket rows, in key order (two
    writers always lock them in the same order)."""
    rows = [
        {"metric": metric, "bucket": bucket, "users": delta}
        for (metric, bucket), delta in sorted(changes.items())
    ]
    upsert = _adding_upsert(_dialect(db), RankBucket, ("metric", "bucket"), counters=("users",))
    await db.execute(upsert, rows)


def _rates(table: Any, excluded: Any) -> dict[str, ColumnElement[Any]]:
    # The new totals divided in SQL: IEEE division of the same integers gives the same float
    # as Python's correct / answered, so equal records compare equal in the percentile counts.
    answered = table.c.answered + excluded.answered
    return {
        "accuracy": cast(table.c.correct + excluded.correct, Float) / answered,
        "avg_time_seconds": cast(table.c.time_seconds + excluded.time_seconds, Float) / answered,
        "updated_at": excluded.updated_at,
    }


async def record_submission(db: AsyncSession, record: SubmissionRecord) -> None:
    """Fold a submitted attempt into the user's aggregates, the rank buckets and the item
    analysis facts, and invalidate what it changes.

    Runs when the `attempt.submitted` event is delivered (`analytics.subscribers`); flushes,
    never commits. Recording the same attempt again changes nothing (its `attempt_results`
    row is the guard). Only answered items count in the aggregates: accuracy is correct /
    answered, and the average time is the time spent on answered items / answered. The day
    is the UTC day of `submitted_at`.
    """
    totals = _totals(record.items)
    inserted = await db.scalar(
        _insert(_dialect(db), AttemptResult)
        .values(
            attempt_id=record.attempt_id,
            user_id=record.user_id,
            quiz_id=record.quiz_id,
            percent=record.percent,
            question_count=len(record.items),
            answered=totals["answered"],
            correct=totals["correct"],
            time_spent_seconds=max(0, record.time_spent_seconds),
            submitted_at=record.submitted_at,
        )
        .on_conflict_do_nothing(index_elements=["attempt_id"])
        .returning(AttemptResult.attempt_id)
    )
    if inserted is None:
        return  # recorded before
    # Before this user's aggregate rows are locked: the cache round trips need no lock.
    await invalidate_after_submission(
        db, record.user_id, record.quiz_id, (item.question_id for item in record.items)
    )
    await _add_item_responses(db, record)
    if totals["answered"]:
        await _add_to_user_aggregates(db, record, totals)
    await db.flush()


async def _add_item_responses(db: AsyncSession, record: SubmissionRecord) -> None:
    rows = {
        item.question_id: {
            "attempt_id": record.attempt_id,
            "question_id": item.question_id,
            "question_version_id": item.question_version_id,
            "user_id": record.user_id,
            "response": item.response,
            "is_correct": item.is_correct,
            "attempt_percent": record.percent,
            "submitted_at": record.submitted_at,
        }
        for item in record.items
    }
    if rows:
        await db.execute(insert(ItemResponse), list(rows.values()))


async def _add_to_user_aggregates(
    db: AsyncSession, record: SubmissionRecord, totals: Mapping[str, int]
) -> None:
    """user_stats, user_daily_stats and user_subject_stats (rows of this user only), and the
    rank buckets the user moved between."""
    # Rows are only created with answered >= 1: the percentile counts depend on it.
    upsert_stats = _adding_upsert(
        _dialect(db), UserStats, ("user_id",), extra=_rates, returning=_CURRENT_STATS
    )
    new_stats = {
        "user_id": record.user_id,
        **totals,
        "accuracy": totals["correct"] / totals["answered"],
        "avg_time_seconds": totals["time_seconds"] / totals["answered"],
        "updated_at": utcnow(),
    }
    current = (await db.execute(upsert_stats, new_stats)).one()
    if changes := _bucket_changes(totals, current):
        await _apply_bucket_changes(db, changes)
    day = record.submitted_at.astimezone(UTC).date()
    await db.execute(
        _adding_upsert(_dialect(db), UserDailyStats, ("user_id", "day")),
        {"user_id": record.user_id, "day": day, **totals},
    )
    groups: dict[tuple[str, str], list[ItemRecord]] = defaultdict(list)
    for item in record.items:
        if item.answered:
            groups[(item.subject, item.system)].append(item)
    # Sorted, so two transactions of one user lock the rows in the same order.
    subject_rows = [
        {"user_id": record.user_id, "subject": subject, "system": system, **_totals(items)}
        for (subject, system), items in sorted(groups.items())
    ]
    await db.execute(
        _adding_upsert(_dialect(db), UserSubjectStats, ("user_id", "subject", "system")),
        subject_rows,
    )
