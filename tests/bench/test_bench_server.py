"""How the benchmark starts Studyhall: the real `studyhall serve` command with the bench's
settings (tests/test_cli.py runs that command for real, with several workers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.server import (
    HOST,
    studyhall_command,
    studyhall_environment,
    uvicorn_command,
    worker_command,
)
from studyhall import cli
from studyhall.core.settings import Settings

BENCH_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/studyhall_bench"


def test_studyhall_runs_as_the_serve_command() -> None:
    command = studyhall_command(2)(8123)

    assert command[0] == str(Path(sys.executable).with_name("studyhall"))
    assert command[1:] == ["serve", "--host", HOST, "--port", "8123", "--workers", "2"]
    # The bare baseline stays a uvicorn app, with the same workers.
    baseline = uvicorn_command("bench.baseline:create_app", 2)(8124)
    assert baseline[1:4] == ["-m", "uvicorn", "bench.baseline:create_app"]
    assert baseline[baseline.index("--workers") + 1] == "2"
    # With several `serve` workers a `studyhall worker` consumes the jobs and delivers events.
    worker = worker_command(1)(8126)
    assert worker[1:] == ["worker", "--threads", "1", "--metrics-port", "8126"]


@pytest.mark.parametrize(("workers", "in_process"), [(1, True), (2, False)])
def test_serve_takes_the_bench_settings_without_migrating(
    workers: int, in_process: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`studyhall serve` parses the bench's command line and reads the bench's environment; on
    PostgreSQL it leaves migrations alone (the bench database is migrated by `seed`)."""
    import uvicorn

    env = studyhall_environment(
        BENCH_DATABASE, "redis://127.0.0.1:6379/13", "ns", workers, tmp_path
    )
    seen: dict[str, Any] = {}

    def run(app: str, **kwargs: Any) -> None:
        seen.update(kwargs, app=app, settings=cli.get_settings())

    def no_migration(settings: Settings) -> None:
        raise AssertionError("serve migrated the embedded database")

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(cli, "_migrate", no_migration)
    monkeypatch.setattr(cli, "get_settings", Settings)  # read from the bench's environment
    # Whatever serve exports for its workers is undone afterwards.
    monkeypatch.setenv(cli.MULTIPROC_DIR_ENV, "")
    monkeypatch.delenv(cli.MULTIPROC_DIR_ENV)
    result = CliRunner().invoke(cli.app, studyhall_command(workers)(8125)[1:], env=env)

    assert result.exit_code == 0, result.output
    assert (seen["app"], seen["factory"]) == ("studyhall.app:create_app", True)
    assert (seen["host"], seen["port"], seen["workers"]) == (HOST, 8125, workers)
    settings: Settings = seen["settings"]
    assert settings.effective_database_url == BENCH_DATABASE
    assert settings.run_worker_in_process is in_process
    assert settings.var_dir == tmp_path
