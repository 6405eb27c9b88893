"""The benchmark's own code on the suite's backends: seeding a tiny data set through the same
code path as `python -m bench seed` (COPY on PostgreSQL, executemany on SQLite), then the load
driver for a couple of seconds with two virtual users. Timings are bench's business; this
checks that every endpoint of the mix is exercised without an error."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench import load
from bench.baseline import create_app as create_baseline
from bench.http import HttpxHttp
from bench.seed import BENCH_PASSWORD, SeedSize, seed_database, student_email
from bench.server import RAISED_RATE_LIMITS
from bench.stats import ENDPOINT_CLASS
from bench.writer import asyncpg_dsn
from studyhall.analytics.models import AttemptResult, ItemResponse, RankBucket, UserStats
from studyhall.app import create_app
from studyhall.attempts.models import Attempt, AttemptItem
from studyhall.core.settings import Settings
from tests import backends

TINY = SeedSize(
    students=10,
    teachers=2,
    questions=80,
    quizzes=4,
    quiz_size=10,
    attempts=30,
    custom_size=10,
    days=10,
)
MIXED_ENDPOINTS = set(ENDPOINT_CLASS) - {"baseline_answer"}
READ_ENDPOINTS = {
    "quiz_list",
    "quiz_detail",
    "question",
    "performance",
    "percentile",
    "leaderboard_global",
    "leaderboard_quiz",
}
SMOKE = load.LoadOptions(
    vus=2,
    seconds=2.0,
    min_sessions=1,
    hard_seconds=15.0,
    answers_per_session=4,
    autosave_every=2,
    custom_share=0.0,  # user 0 sits a quiz, user 1 a custom test (see _VirtualUser.start)
    custom_count=6,
)


@pytest.fixture
async def bench_client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The suite's app with the rate limits the benchmark raises (so the load is not
    throttled); `app` wipes the tables, cache and limits afterwards."""
    limits = {name.removeprefix("STUDYHALL_").lower(): v for name, v in RAISED_RATE_LIMITS.items()}
    bench_app = create_app(settings.model_copy(update=limits))
    transport = httpx.ASGITransport(app=bench_app, client=("127.0.0.1", 50001))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client
    finally:
        await bench_app.state.engine.dispose()


async def test_seeded_aggregates_match_the_history(app: FastAPI, db: AsyncSession) -> None:
    summary = await seed_database(app.state.engine, TINY, seed=3)

    assert summary.rows["users"] == TINY.users
    assert summary.rows["attempt_items"] == TINY.attempts * TINY.quiz_size
    answered = await db.scalar(select(func.sum(Attempt.answered_count)))
    correct = await db.scalar(select(func.sum(Attempt.correct_count)))
    assert await db.scalar(select(func.sum(UserStats.answered))) == answered
    assert await db.scalar(select(func.sum(UserStats.correct))) == correct
    assert await db.scalar(select(func.sum(AttemptResult.correct))) == correct
    graded_right = select(func.count()).select_from(AttemptItem).where(AttemptItem.is_correct)
    assert await db.scalar(graded_right) == correct
    # analytics' own copy of every submitted item, for item analysis
    assert (
        await db.scalar(select(func.count()).select_from(ItemResponse))
        == (summary.rows["attempt_items"])
    )
    right = select(func.count()).select_from(ItemResponse).where(ItemResponse.is_correct)
    assert await db.scalar(right) == correct
    ranked = await db.scalar(select(func.count()).select_from(UserStats))
    assert summary.ranked_users == ranked
    in_buckets = select(func.sum(RankBucket.users)).where(RankBucket.metric == "answered")
    assert await db.scalar(in_buckets) == ranked


async def test_driver_exercises_every_endpoint_without_errors(
    app: FastAPI, bench_client: httpx.AsyncClient, test_env: backends.TestEnvironment
) -> None:
    await seed_database(app.state.engine, TINY, seed=4)
    http = HttpxHttp(bench_client)

    def connect() -> HttpxHttp:
        return http

    accounts = await load.sign_in(connect, [student_email(i) for i in range(4)], BENCH_PASSWORD)
    shared = load.SharedState()

    mixed = await load.mixed_phase(connect, accounts, SMOKE, shared)
    reads = await load.read_phase(
        connect, accounts, dataclasses.replace(SMOKE, seconds=0.5), shared
    )
    targets = await load.open_answer_targets(http, accounts, 2, questions=5)
    answers = await load.answer_phase(connect, targets, 0.5)
    phases = [mixed, reads, answers]
    if test_env.is_postgres:
        baseline_app = create_baseline(asyncpg_dsn(test_env.database_url))
        async with baseline_app.router.lifespan_context(baseline_app):
            transport = httpx.ASGITransport(app=baseline_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bare") as bare:
                baseline = await load.answer_phase(lambda: HttpxHttp(bare), targets, 0.5, True)
                phases.append(baseline)
    await load.close_answer_targets(http, targets)

    assert set(mixed.endpoints) == MIXED_ENDPOINTS
    assert set(reads.endpoints) == READ_ENDPOINTS
    assert set(answers.endpoints) == {"answer"}
    for phase in phases:
        assert phase.requests > 0
        assert phase.errors == 0, phase.summary()
    assert mixed.cache is not None and mixed.cache.rate() is not None
    summary = mixed.summary()
    assert {row["endpoint"] for row in summary["endpoints"]} == MIXED_ENDPOINTS
