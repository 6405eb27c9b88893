"""`python -m bench`: seed the data set, run the load against Studyhall and the bare baseline,
time the percentile ranking. See bench/README.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parents[1]
# Before any studyhall import: keep the bench's own files (job queue of the seeding process)
# out of the development var/.
os.environ.setdefault("STUDYHALL_VAR_DIR", str(ROOT / "var" / "bench"))

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/studyhall_bench"
DEFAULT_PERCENTILE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/studyhall_bench_ranks"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
NAMESPACE = "studyhall-bench"

app = typer.Typer(
    help="Studyhall's benchmark (PostgreSQL + Redis on this machine only).",
    no_args_is_help=True,
    add_completion=False,
)
# Wide enough for the tables when the output goes to a file.
console = Console(width=None if sys.stdout.isatty() else 130)

DatabaseUrl = Annotated[str, typer.Option(help="PostgreSQL URL of the bench database")]
RedisUrl = Annotated[str, typer.Option(help="Redis URL (keys live under the bench namespace)")]


class _Bar:
    """Rich progress for the seeding stages."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.completed:>9,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
    )


async def _clear_namespace(redis_url: str) -> int:
    """Delete this benchmark's keys (cache, rate-limit counters, queue): nothing else."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    deleted = 0
    try:
        for pattern in (f"{NAMESPACE}:*", f"*{NAMESPACE}*"):
            async for key in client.scan_iter(match=pattern, count=1000):
                deleted += int(await client.delete(key))
    finally:
        await client.aclose()
    return deleted


# ---------------------------------------------------------------- seed


@app.command()
def seed(
    database_url: DatabaseUrl = DEFAULT_DATABASE,
    redis_url: RedisUrl = DEFAULT_REDIS,
    reset: Annotated[bool, typer.Option(help="drop and recreate the database first")] = False,
    students: Annotated[int, typer.Option(help="student accounts")] = 9_949,
    teachers: Annotated[int, typer.Option(help="teacher accounts (authors)")] = 50,
    questions: Annotated[int, typer.Option(help="published questions")] = 5_000,
    quizzes: Annotated[int, typer.Option(help="published quizzes")] = 200,
    attempts: Annotated[int, typer.Option(help="submitted attempts of 40 items each")] = 25_000,
    random_seed: Annotated[int, typer.Option("--seed", help="random seed")] = 20_241_122,
) -> None:
    """Create, migrate and fill the bench database (idempotent; --reset rebuilds it)."""
    from bench.seed import SeedSize

    size = SeedSize(
        students=students,
        teachers=teachers,
        questions=questions,
        quizzes=quizzes,
        attempts=attempts,
    )
    asyncio.run(_seed(database_url, redis_url, reset, size, random_seed))


async def _seed(
    database_url: str, redis_url: str, reset: bool, size: Any, random_seed: int
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from bench.seed import bench_user_count, seed_database
    from bench.writer import all_tables, ensure_database, vacuum_analyze
    from studyhall.core.cache import close_cache, setup_cache
    from studyhall.migrate import upgrade

    created = await ensure_database(database_url, reset=reset)
    console.print(f"Database {'created' if created else 'exists'}; applying migrations…")
    upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        existing = await bench_user_count(engine)
        if existing:
            console.print(
                f"[yellow]Already seeded ({existing:,} bench users). Nothing to do; "
                "`--reset` drops and rebuilds the data set.[/]"
            )
            return
        setup_cache(redis_url, NAMESPACE)
        console.print(
            f"Seeding {size.users:,} users, {size.questions:,} questions, {size.quizzes} quizzes, "
            f"{size.attempts:,} attempts ({size.answers:,} answers)…"
        )
        with _progress() as progress:
            summary = await seed_database(engine, size, random_seed, _Bar(progress))
        console.print("VACUUM ANALYZE (what autovacuum would do after a bulk load)…")
        started = time.perf_counter()
        await vacuum_analyze(database_url, all_tables())
        vacuum_seconds = time.perf_counter() - started
        await _clear_namespace(redis_url)
        await close_cache()
    finally:
        await engine.dispose()
    console.print(
        f"Seeded in {summary.seconds:.0f} s (+{vacuum_seconds:.0f} s VACUUM ANALYZE); "
        f"{summary.ranked_users:,} ranked users; load average {os.getloadavg()[0]:.2f}."
    )
    for name, rows in summary.rows.items():
        seconds = summary.write_seconds.get(name, 0.0)
        console.print(f"  {name:<22} {rows:>10,} rows  ({seconds:6.1f} s writing)")


# ---------------------------------------------------------------- run


@app.command()
def run(
    database_url: DatabaseUrl = DEFAULT_DATABASE,
    redis_url: RedisUrl = DEFAULT_REDIS,
    workers: Annotated[int, typer.Option(help="uvicorn workers (Studyhall and baseline)")] = 2,
    users: Annotated[int, typer.Option(help="seeded students to sign in")] = 100,
    vus: Annotated[int, typer.Option(help="concurrent virtual users")] = 50,
    duration: Annotated[float, typer.Option(help="seconds of the mixed load")] = 60.0,
    think: Annotated[
        float,
        typer.Option(
            help="mean think time between a virtual user's requests, s (mixed and read "
            "phases; 0 = back to back)"
        ),
    ] = 1.0,
    warmup: Annotated[float, typer.Option(help="seconds of unmeasured load first")] = 5.0,
    read_duration: Annotated[float, typer.Option(help="seconds of the read-only mix")] = 30.0,
    answer_duration: Annotated[
        float, typer.Option(help="seconds of answering, Studyhall and baseline each")
    ] = 10.0,
    json_out: Annotated[Path | None, typer.Option(help="also write the report as JSON")] = None,
) -> None:
    """Serve Studyhall on the bench database and drive the load; then the baseline."""
    from bench.load import LoadOptions

    options = LoadOptions(vus=vus, seconds=duration, think_seconds=think)
    report = asyncio.run(
        _run(
            database_url,
            redis_url,
            workers,
            users,
            options,
            warmup,
            read_duration,
            answer_duration,
        )
    )
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))
        console.print(f"Report written to {json_out}")


async def _run(
    database_url: str,
    redis_url: str,
    workers: int,
    users: int,
    options: Any,
    warmup: float,
    read_duration: float,
    answer_duration: float,
) -> dict[str, Any]:
    import dataclasses

    from sqlalchemy.ext.asyncio import create_async_engine

    from bench import load
    from bench.http import RawHttp
    from bench.report import RunReport, machine, print_phase, print_verdicts
    from bench.seed import BENCH_PASSWORD, bench_user_count, student_email
    from bench.server import (
        RAISED_RATE_LIMITS,
        serving,
        studyhall_command,
        studyhall_environment,
        uvicorn_command,
        worker_command,
    )
    from bench.writer import asyncpg_dsn

    engine = create_async_engine(database_url)
    try:
        seeded = await bench_user_count(engine)
    finally:
        await engine.dispose()
    if seeded < users:
        console.print(
            f"[red]The bench database has {seeded} bench users; run `python -m bench seed`.[/]"
        )
        raise typer.Exit(1)
    if users < options.vus:
        console.print(
            "[yellow]Fewer users than virtual users: some users sit two tests at once.[/]"
        )
    await _clear_namespace(redis_url)
    settings = {
        "workers": workers,
        "virtual_users": options.vus,
        "signed_in_users": users,
        "mixed_seconds": options.seconds,
        "think_seconds": options.think_seconds,
        "warmup_seconds": warmup,
        "read_seconds": read_duration,
        "answer_seconds": answer_duration,
        "rate_limits": RAISED_RATE_LIMITS,
    }
    report = RunReport(settings=settings, machine_before=machine())
    console.print(
        f"Machine: {report.machine_before['cpus']} CPUs, load average "
        f"{report.machine_before['load_average']} before the run."
    )
    console.print(
        "Rate limits raised for the load (the limiter still runs, on Redis): "
        + ", ".join(f"{k.removeprefix('STUDYHALL_')}={v}" for k, v in RAISED_RATE_LIMITS.items())
        + ". Per-user auto-save (120/min) and submit (1 per attempt per 5 min) are unchanged."
    )
    logs = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    env = studyhall_environment(database_url, redis_url, NAMESPACE, workers, logs / "var")
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            serving("studyhall", studyhall_command(workers), env, "/health", logs)
        )
        console.print(f"Studyhall: {workers} worker(s) at {server.base_url} (logs in {logs}).")
        if workers > 1:  # then `serve` consumes no jobs: a `studyhall worker` delivers events
            await stack.enter_async_context(
                serving("worker", worker_command(1), env, "/metrics", logs)
            )

        def connect() -> RawHttp:
            return RawHttp(server.base_url)

        control = connect()
        started = time.perf_counter()
        accounts = await load.sign_in(
            connect, [student_email(i) for i in range(users)], BENCH_PASSWORD
        )
        report.sign_in_seconds = time.perf_counter() - started
        console.print(f"Signed in {len(accounts)} users in {report.sign_in_seconds:.1f} s.")
        shared = load.SharedState()
        if warmup > 0:
            console.print(f"Warm-up: {warmup:.0f} s of the mixed load (not measured)…")
            await load.mixed_phase(
                connect,
                accounts,
                dataclasses.replace(options, seconds=warmup, seed=options.seed + 99),
                shared,
                scrape_metrics=False,
            )
        console.print(f"Mixed load: {options.vus} virtual users for {options.seconds:.0f} s…")
        # /metrics sums every worker's counters (`studyhall serve` runs them in prometheus
        # multiprocess mode), so the cache hit rate is measured with any number of workers.
        mixed = await load.mixed_phase(connect, accounts, options, shared)
        report.phases.append(mixed)
        print_phase(console, mixed)
        console.print(f"Read mix: {read_duration:.0f} s…")
        reads = await load.read_phase(
            connect, accounts, dataclasses.replace(options, seconds=read_duration), shared
        )
        report.phases.append(reads)
        print_phase(console, reads)
        console.print(f"Answering back to back: {answer_duration:.0f} s…")
        targets = await load.open_answer_targets(control, accounts, options.vus)
        answers = await load.answer_phase(connect, targets, answer_duration)
        report.phases.append(answers)
        print_phase(console, answers)
        baseline_env = {"BENCH_BASELINE_DSN": asyncpg_dsn(database_url)}
        baseline_command = uvicorn_command("bench.baseline:create_app", workers)
        async with serving("baseline", baseline_command, baseline_env, "/health", logs) as bare:
            console.print(f"Baseline: bare Starlette + asyncpg at {bare.base_url}…")
            baseline = await load.answer_phase(
                lambda: RawHttp(bare.base_url), targets, answer_duration, baseline=True
            )
        report.phases.append(baseline)
        print_phase(console, baseline)
        await load.close_answer_targets(control, targets)
        await control.close()
    report.machine_after = machine()
    ratio = report.answer_ratio
    if ratio is not None:
        console.print(
            f"Answer throughput: Studyhall {answers.throughput:.1f}/s, baseline "
            f"{baseline.throughput:.1f}/s: {ratio:.1%} of the baseline."
        )
    console.print(f"Load average after the run: {report.machine_after['load_average']}.")
    print_verdicts(console, report)
    return report.summary()


# ---------------------------------------------------------------- percentile


@app.command()
def percentile(
    database_url: DatabaseUrl = DEFAULT_PERCENTILE_DATABASE,
    redis_url: RedisUrl = DEFAULT_REDIS,
    users: Annotated[int, typer.Option(help="ranked users to seed")] = 100_000,
    samples: Annotated[int, typer.Option(help="rankings to time")] = 200,
    reset: Annotated[bool, typer.Option(help="drop and reseed the database")] = False,
) -> None:
    """Time the percentile ranking against 100,000 ranked users (its own database)."""
    asyncio.run(_percentile(database_url, redis_url, users, samples, reset))


async def _percentile(
    database_url: str, redis_url: str, users: int, samples: int, reset: bool
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from bench.percentile import ranked_user_count, seed_ranked_users, time_percentiles
    from bench.writer import ensure_database, vacuum_analyze
    from studyhall.core.cache import close_cache, setup_cache
    from studyhall.migrate import upgrade

    await ensure_database(database_url, reset=reset)
    upgrade(database_url)
    setup_cache(redis_url, NAMESPACE)
    engine = create_async_engine(database_url)
    try:
        existing = await ranked_user_count(engine)
        if existing and existing != users:
            console.print(f"[yellow]{existing:,} ranked users already there; --reset to reseed.[/]")
        if not existing:
            started = time.perf_counter()
            with _progress() as progress:
                bar = _Bar(progress)
                await seed_ranked_users(engine, users, progress=lambda d, t: bar("users", d, t))
            await vacuum_analyze(
                database_url, ("users", "user_roles", "user_stats", "rank_buckets")
            )
            console.print(
                f"Seeded {users:,} ranked users in {time.perf_counter() - started:.0f} s."
            )
        load_before = os.getloadavg()
        timing = await time_percentiles(engine, samples)
        load_after = os.getloadavg()
    finally:
        await engine.dispose()
        await close_cache()
    result = timing.summary()
    verdict = "[green]pass[/]" if result["within_budget"] else "[red]FAIL[/]"
    console.print(
        f"Percentile ranking (uncached, compute_percentile_ranking) of {result['samples']} random "
        f"users among {result['ranked_users']:,}: p50 {result['p50_ms']} ms, p95 "
        f"{result['p95_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms, mean "
        f"{result['mean_ms']} ms. Budget < {result['budget_ms']:.0f} ms (p95): {verdict}."
    )
    console.print(
        f"Load average before/after: {[round(x, 2) for x in load_before]} / "
        f"{[round(x, 2) for x in load_after]}."
    )


if __name__ == "__main__":
    app()
