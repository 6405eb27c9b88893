"""`studyhall serve` as an operator runs it: it comes up on the embedded defaults and stops
on SIGTERM (the in-process job worker must not swallow the signal); with several workers,
/metrics covers them all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from studyhall import cli
from studyhall.core.settings import Settings
from tests.backends import free_port

STUDYHALL = Path(sys.executable).with_name("studyhall")
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {within}s")


def _embedded_environment(tmp_path: Path, port: int) -> dict[str, str]:
    """This environment without any Studyhall setting (nor a multiprocess metrics directory):
    the embedded defaults in `tmp_path/var`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STUDYHALL_") and key.upper() != MULTIPROC_DIR_ENV
    }
    env.update(
        STUDYHALL_VAR_DIR=str(tmp_path / "var"),
        STUDYHALL_PORT=str(port),
        STUDYHALL_LOG_LEVEL="WARNING",
    )
    return env


def test_serve_starts_on_embedded_defaults_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = _embedded_environment(tmp_path, port)
    process = subprocess.Popen(
        [str(STUDYHALL), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/health/ready", process, within=60)
        assert (tmp_path / "var" / "studyhall.db").exists()
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal for the exit status.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stdout is not None
    with process.stdout:
        output = process.stdout.read().decode()
    assert f"Studyhall is running at http://127.0.0.1:{port}" in output


# ---------------------------------------------------------------- metrics of several workers

METERED = "/api/v1/me"  # cheap: without a token it answers 401 before touching the database


def _requests_by_worker(metrics_dir: Path) -> Counter[str]:
    """Requests to METERED counted in each worker's own counter file."""
    served: Counter[str] = Counter()
    for path in metrics_dir.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            for sample in family.samples:
                if (
                    sample.name == "studyhall_http_requests_total"
                    and sample.labels.get("route") == METERED
                ):
                    served[path.stem] += int(sample.value)
    return served


def _requests_in(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "studyhall_http_requests_total" and sample.labels.get("route") == METERED
    )


def test_metrics_of_several_workers_are_summed(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [str(STUDYHALL), "serve", "--workers", "2"],
            env=_embedded_environment(tmp_path, port),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers end with it
        )
    try:
        _wait_until_healthy(f"{base}/health", process, within=60)
        [metrics_dir] = (tmp_path / "var" / "metrics").iterdir()
        assert metrics_dir.name == f"serve-{process.pid}"
        # One connection per request, so that both workers serve some; a worker still starting
        # serves none, so go on (in rounds of 40) until each worker has counted some.
        sent = 0
        deadline = time.monotonic() + 15
        while sent == 0 or len(_requests_by_worker(metrics_dir)) < 2:
            assert time.monotonic() < deadline, f"one worker served all {sent} requests"
            for _ in range(40):
                assert httpx.get(base + METERED, timeout=5).status_code == 401
                sent += 1
        served = _requests_by_worker(metrics_dir)
        assert len(served) == 2 and sum(served.values()) == sent, served
        # Whichever worker answers the scrape, it reports every worker's requests.
        for _ in range(4):
            response = httpx.get(f"{base}/metrics", timeout=5)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=")
            assert _requests_in(response.text) == sent
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
        assert not metrics_dir.exists(), "serve leaves its metrics directory behind"
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing left of the group: all done
            os.killpg(process.pid, signal.SIGKILL)  # the supervisor and any worker it left
        process.wait(timeout=10)


@pytest.fixture
def multiproc_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Without PROMETHEUS_MULTIPROC_DIR; whatever `serve` exports is undone afterwards."""
    monkeypatch.setenv(MULTIPROC_DIR_ENV, "")  # recorded: the teardown restores the original
    monkeypatch.delenv(MULTIPROC_DIR_ENV)
    return monkeypatch


def _serve(
    monkeypatch: pytest.MonkeyPatch, var_dir: Path, *args: str
) -> tuple[dict[str, Any], str]:
    """Run `studyhall serve ARGS` with uvicorn.run replaced: (what uvicorn.run saw, output)."""
    import uvicorn

    seen: dict[str, Any] = {}

    def run(app: str, **kwargs: Any) -> None:
        seen.update(kwargs, env=os.environ.get(MULTIPROC_DIR_ENV))
        if seen["env"]:
            seen["files"] = sorted(p.name for p in Path(seen["env"]).iterdir())

    # Not SQLite: no migrations to apply.
    settings = Settings(var_dir=var_dir, database_url="postgresql+asyncpg://nobody@127.0.0.1/x")
    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["serve", "--port", str(free_port()), *args])
    assert result.exit_code == 0, result.output
    return seen, result.output


def test_serve_exports_a_fresh_metrics_directory_for_several_workers(
    tmp_path: Path, multiproc_env: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "var" / "metrics" / f"serve-{os.getpid()}"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"from an earlier run with this pid")

    seen, output = _serve(multiproc_env, tmp_path / "var", "--workers", "3")

    assert seen["workers"] == 3
    assert seen["env"] == str(stale.resolve())
    assert seen["files"] == []  # cleared before the workers start
    assert not stale.exists()  # and removed once serve returns
    assert "/metrics sums every worker process" in output


def test_serve_leaves_metrics_in_process_with_one_worker(
    tmp_path: Path, multiproc_env: pytest.MonkeyPatch
) -> None:
    seen, _ = _serve(multiproc_env, tmp_path / "var")

    assert seen["workers"] == 1
    assert seen["env"] is None
    assert not (tmp_path / "var" / "metrics").exists()


def test_serve_honours_the_operators_metrics_directory(
    tmp_path: Path, multiproc_env: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "prometheus"
    multiproc_env.setenv(MULTIPROC_DIR_ENV, str(chosen))

    seen, _ = _serve(multiproc_env, tmp_path / "var", "--workers", "2")

    assert seen["env"] == str(chosen)
    assert chosen.is_dir()  # created when missing, and left in place
    assert not (tmp_path / "var" / "metrics").exists()


# ---------------------------------------------------------------- studyhall worker


def _worker_threads(tmp_path: Path, *args: str, env_threads: str | None = None) -> str:
    """Run `studyhall worker ARGS` until its consumer has started; returns what it printed."""
    env = _embedded_environment(tmp_path, free_port())
    env["STUDYHALL_LOG_LEVEL"] = "INFO"
    env["STUDYHALL_LOG_JSON"] = "false"
    if env_threads is not None:
        env["STUDYHALL_WORKER_THREADS"] = env_threads
    tmp_path.mkdir()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(STUDYHALL), "worker", "--metrics-port", "0", *args],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Huey consumer started" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)  # huey's graceful stop
        # 130: the signal came before huey installed its handlers (it logs before that).
        assert process.wait(timeout=20) in (0, 130)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return log_path.read_text()


def test_worker_threads_follow_the_setting_unless_given(tmp_path: Path) -> None:
    from_setting = _worker_threads(tmp_path / "setting", env_threads="3")
    assert "queue with 3 threads" in from_setting
    assert "Huey consumer started with 3 thread" in from_setting

    given = _worker_threads(tmp_path / "option", "--threads", "5", env_threads="3")
    assert "queue with 5 threads" in given
    assert "Huey consumer started with 5 thread" in given
