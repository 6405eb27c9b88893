"""`studyhall serve` as an operator runs it: it comes up on the embedded defaults and stops
on SIGTERM (the in-process job worker must not swallow the signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.backends import free_port

STUDYHALL = Path(sys.executable).with_name("studyhall")


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


def test_serve_starts_on_embedded_defaults_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("STUDYHALL_")}
    env.update(
        STUDYHALL_VAR_DIR=str(tmp_path / "var"),
        STUDYHALL_PORT=str(port),
        STUDYHALL_LOG_LEVEL="WARNING",
    )
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
