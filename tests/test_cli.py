"""`studyhall serve` as an operator runs it: it comes up on the embedded defaults and stops
on SIGTERM (the in-process job worker must not swallow the signal); with several workers,
/metrics covers them all; it refuses to start without a shared secret where one is needed, and
every command refuses invalid settings with a message instead of a traceback."""

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
from pydantic import ValidationError
from typer.testing import CliRunner, Result

from studyhall import cli
from studyhall.core.settings import Settings
from tests.backends import free_port, wait_until_healthy

STUDYHALL = Path(sys.executable).with_name("studyhall")
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
PASSWORD = "a long and unusual passphrase"
SHARED_SECRET = "a-secret-every-worker-shares-" + "x" * 32


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
        wait_until_healthy(f"http://127.0.0.1:{port}/health/ready", process, within=60)
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
    env = _embedded_environment(tmp_path, port)
    env["STUDYHALL_SECRET_KEY"] = SHARED_SECRET  # several workers must share one
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [str(STUDYHALL), "serve", "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers end with it
        )
    try:
        wait_until_healthy(f"{base}/health", process, within=60)
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
        # A worker counts a request once its response has gone out: the client can read the
        # last response a moment before its worker has written the count.
        served = _requests_by_worker(metrics_dir)
        while sum(served.values()) < sent and time.monotonic() < deadline + 10:
            time.sleep(0.05)
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


def _settings(var_dir: Path, **fields: Any) -> Settings:
    """Settings without the suite's secret (unless given) and not on SQLite (no migrations)."""
    fields.setdefault("secret_key", "")
    return Settings(
        var_dir=var_dir, database_url="postgresql+asyncpg://nobody@127.0.0.1/x", **fields
    )


def _invoke_serve(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str
) -> tuple[dict[str, Any], Result]:
    """Run `studyhall serve ARGS` with uvicorn.run replaced: (what uvicorn.run saw, result)."""
    import uvicorn

    seen: dict[str, Any] = {}

    def run(app: str, **kwargs: Any) -> None:
        seen.update(kwargs, env=os.environ.get(MULTIPROC_DIR_ENV))
        if seen["env"]:
            seen["files"] = sorted(p.name for p in Path(seen["env"]).iterdir())

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["serve", "--port", str(free_port()), *args])
    return seen, result


def _serve(
    monkeypatch: pytest.MonkeyPatch, var_dir: Path, *args: str
) -> tuple[dict[str, Any], str]:
    """`studyhall serve ARGS` (uvicorn.run replaced) with a shared secret: it must start."""
    settings = _settings(var_dir, secret_key=SHARED_SECRET)
    seen, result = _invoke_serve(monkeypatch, settings, *args)
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


# ---------------------------------------------------------------- one secret for every process


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("env", "args", "reason"),
    [
        ("development", ["--workers", "2"], "serve runs 2 worker processes"),
        ("production", [], "STUDYHALL_ENV is production"),
        ("production", ["--workers", "4"], "STUDYHALL_ENV is production"),
    ],
)
def test_serve_refuses_to_start_without_a_shared_secret(
    tmp_path: Path,
    multiproc_env: pytest.MonkeyPatch,
    env: str,
    args: list[str],
    reason: str,
) -> None:
    var_dir = tmp_path / "var"

    seen, result = _invoke_serve(multiproc_env, _settings(var_dir, env=env), *args)

    assert result.exit_code == cli.CONFIG_ERROR
    message = _flat(result.stderr)
    assert f"STUDYHALL_SECRET_KEY is not set and {reason}" in message
    assert "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'" in message
    assert "Traceback" not in result.output
    assert seen == {}, "uvicorn was started"
    assert not (var_dir / "secret.key").exists()


@pytest.mark.parametrize(
    ("env", "args", "workers"),
    [("production", ["--workers", "3"], 3), ("development", ["--workers", "2"], 2)],
)
def test_serve_starts_several_workers_with_the_shared_secret(
    tmp_path: Path, multiproc_env: pytest.MonkeyPatch, env: str, args: list[str], workers: int
) -> None:
    settings = _settings(tmp_path / "var", env=env, secret_key=SHARED_SECRET)

    seen, result = _invoke_serve(multiproc_env, settings, *args)

    assert result.exit_code == 0, result.output
    assert seen["workers"] == workers
    assert not (tmp_path / "var" / "secret.key").exists()


@pytest.mark.parametrize("args", [[], ["--workers", "3", "--reload"]])
def test_serve_in_development_with_one_process_generates_its_secret(
    tmp_path: Path, multiproc_env: pytest.MonkeyPatch, args: list[str]
) -> None:
    """One process (--reload runs one, whatever --workers says) keeps the secret in var/."""
    settings = _settings(tmp_path / "var", env="development")

    seen, result = _invoke_serve(multiproc_env, settings, *args)

    assert result.exit_code == 0, result.output
    assert seen["workers"] == (3 if args else 1)
    generated = settings.effective_secret_key
    assert (tmp_path / "var" / "secret.key").read_text() == generated


# ---------------------------------------------------------------- invalid settings


def test_settings_accept_only_the_three_environments() -> None:
    for env in ("development", "production", "test"):
        assert Settings(env=env).env == env
    with pytest.raises(ValidationError, match="'development', 'production' or 'test'"):
        Settings(env="staging")


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["migrate"],
        ["worker"],
        ["create-admin", "--email", "a@example.org", "--name", "A"],
    ],
)
def test_every_command_names_an_invalid_environment_without_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    env = _embedded_environment(tmp_path, free_port())
    env.update(STUDYHALL_ENV="staging", STUDYHALL_ADMIN_PASSWORD=PASSWORD)

    process = subprocess.run(
        [str(STUDYHALL), *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert process.returncode == cli.CONFIG_ERROR, process.stdout + process.stderr
    assert "Traceback" not in process.stderr
    assert (
        "STUDYHALL_ENV: Input should be 'development', 'production' or 'test' (it is "
        "'staging')" in _flat(process.stderr)
    )
    assert not (tmp_path / "var").exists(), "it went on after the settings failed"


def test_an_invalid_secret_like_setting_is_named_but_not_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def invalid() -> Settings:
        return Settings(database_url=["not", "a", "string"])  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "get_settings", invalid)
    result = CliRunner().invoke(cli.app, ["migrate"])

    assert result.exit_code == cli.CONFIG_ERROR
    assert "STUDYHALL_DATABASE_URL: Input should be a valid string" in result.stderr
    assert "not" not in result.stderr.split("STUDYHALL_DATABASE_URL", 1)[1]


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
