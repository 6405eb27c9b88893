"""Timing the percentile ranking at 100,000 ranked users.

A separate database gets 100,000 users with `user_stats` rows shaped like a real bank's
(a long tail of volume, accuracies around 65%, about a minute per question), the rank
buckets are rebuilt by the analytics service, and `time_percentile_query` times the uncached
ranking (`compute_percentile_ranking`) of randomly chosen users.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.seed import EMAIL_PREFIX, USER_COLUMNS, user_record
from bench.stats import PERCENTILE_SECONDS, quantile
from bench.writer import RowWriter
from studyhall.accounts.models import Role
from studyhall.analytics import service as analytics
from studyhall.analytics.models import UserStats
from studyhall.core.db import utcnow
from studyhall.core.security import hash_password

STATS_COLUMNS = (
    "user_id",
    "answered",
    "correct",
    "time_seconds",
    "accuracy",
    "avg_time_seconds",
    "updated_at",
)
BATCH = 50_000


def ranked_email(index: int) -> str:
    return f"{EMAIL_PREFIX}ranked-{index:06d}@example.com"


async def ranked_user_count(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as db:
        return int(await db.scalar(select(func.count()).select_from(UserStats)) or 0)


async def seed_ranked_users(
    engine: AsyncEngine,
    count: int,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """`count` users, each with a `user_stats` row; then the rank buckets. Returns the number
    of ranked users the rebuild counted."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible data set)
    now = utcnow()
    password_hash = hash_password(uuid.uuid4().hex)  # nobody signs in as these users
    async with engine.begin() as conn:
        writer = RowWriter(conn)
        await writer.begin_bulk_load(("user_stats",))
        for start in range(0, count, BATCH):
            users: list[tuple[Any, ...]] = []
            roles: list[tuple[Any, ...]] = []
            stats: list[tuple[Any, ...]] = []
            for i in range(start, min(count, start + BATCH)):
                user_id, row = user_record(ranked_email(i), f"Ranked {i:06d}", password_hash, now)
                users.append(row)
                roles.append((user_id, Role.STUDENT.value))
                answered = max(1, min(20_000, int(rng.lognormvariate(5.3, 1.2))))
                skill = 0.25 + 0.7 * rng.betavariate(4, 3)
                correct = min(answered, max(0, round(rng.gauss(answered * skill, answered**0.5))))
                seconds = max(answered * 3, int(answered * rng.lognormvariate(4.0, 0.4)))
                stats.append(
                    (
                        user_id,
                        answered,
                        correct,
                        seconds,
                        correct / answered,
                        seconds / answered,
                        now,
                    )
                )
            await writer.write("users", USER_COLUMNS, users)
            await writer.write("user_roles", ("user_id", "role"), roles)
            await writer.write("user_stats", STATS_COLUMNS, stats)
            if progress:
                progress(min(count, start + BATCH), count)
        await writer.end_bulk_load()
    async with AsyncSession(engine) as db:
        ranked = await analytics.rebuild_rank_buckets(db)
        await db.commit()
    return ranked


@dataclass
class PercentileTiming:
    ranked_users: int
    samples: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    def summary(self) -> dict[str, Any]:
        return {
            "ranked_users": self.ranked_users,
            "samples": self.samples,
            "p50_ms": round(self.p50 * 1000, 2),
            "p95_ms": round(self.p95 * 1000, 2),
            "p99_ms": round(self.p99 * 1000, 2),
            "max_ms": round(self.max * 1000, 2),
            "mean_ms": round(self.mean * 1000, 2),
            "budget_ms": PERCENTILE_SECONDS * 1000,
            "within_budget": self.p95 < PERCENTILE_SECONDS,
        }


async def time_percentiles(engine: AsyncEngine, samples: int, warmup: int = 20) -> PercentileTiming:
    """Uncached rankings of `samples` random ranked users, one after another on one
    connection (after `warmup` untimed ones, so the statement is prepared and pages cached)."""
    async with AsyncSession(engine) as db:
        ids = list(
            await db.scalars(
                select(UserStats.user_id).order_by(func.random()).limit(samples + warmup)
            )
        )
        await analytics.time_percentile_query(db, ids[:warmup])
        started = time.perf_counter()
        timings = await analytics.time_percentile_query(db, ids[warmup:])
        total = time.perf_counter() - started
        ranked = (await analytics.compute_percentile_ranking(db, ids[0])).total_users
    ordered = sorted(timings)
    return PercentileTiming(
        ranked_users=ranked,
        samples=len(ordered),
        p50=quantile(ordered, 0.50),
        p95=quantile(ordered, 0.95),
        p99=quantile(ordered, 0.99),
        max=ordered[-1] if ordered else 0.0,
        mean=total / len(ordered) if ordered else 0.0,
    )
