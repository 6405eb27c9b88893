"""Servers under test as child processes on a free loopback port: Studyhall (the real
`studyhall serve` command, as operators run it) and the bare baseline app (under uvicorn)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
# The `studyhall` script of the environment running the bench (`.venv/bin/studyhall`).
STUDYHALL = Path(sys.executable).with_name("studyhall")

# Raised so the load measures the application, not its limiter; the limiter still runs on
# every request, against Redis, as in production (the per-IP and per-user rules count in
# fixed windows, one counter each). Sign-in per IP uses the exact moving window, which keeps
# one Redis list entry per request in the window and reads the whole list on every hit: per
# second rather than per minute, so signing in 100 users from one IP reads a few entries,
# not hundreds. The per-user auto-save rule (120/min) and the submit rule (1 per attempt per
# 5 min) are fixed in code and stay in force.
RAISED_RATE_LIMITS = {
    "STUDYHALL_RATE_LIMIT_GLOBAL": "100000/second",
    "STUDYHALL_RATE_LIMIT_USER": "100000/second",
    "STUDYHALL_RATE_LIMIT_LOGIN_IP": "100000/second",
    "STUDYHALL_RATE_LIMIT_LOGIN_ACCOUNT": "1000/minute",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    name: str
    base_url: str
    pid: int


def studyhall_environment(
    database_url: str, redis_url: str, namespace: str, workers: int, var_dir: Path
) -> dict[str, str]:
    """Settings of the Studyhall under test (on top of this process's environment)."""
    return {
        "STUDYHALL_ENV": "production",
        "STUDYHALL_DATABASE_URL": database_url,
        "STUDYHALL_REDIS_URL": redis_url,
        "STUDYHALL_REDIS_NAMESPACE": namespace,
        # One worker consumes the queue in-process (the embedded way); with more, a separate
        # `studyhall worker` does (`worker_command`), as operators run it.
        "STUDYHALL_RUN_WORKER_IN_PROCESS": "true" if workers == 1 else "false",
        "STUDYHALL_LOG_LEVEL": "WARNING",
        "STUDYHALL_VAR_DIR": str(var_dir),
        "STUDYHALL_SECRET_KEY": "bench-secret-" + "k" * 40,
        **RAISED_RATE_LIMITS,
    }


# The command line of a server, given the port it must bind.
Command = Callable[[int], list[str]]


def studyhall_command(workers: int) -> Command:
    """`studyhall serve` with `workers` uvicorn workers; the rest of its settings come from
    `studyhall_environment` (on PostgreSQL it applies no migrations; with several workers
    /metrics sums them all)."""

    def command(port: int) -> list[str]:
        serve = [str(STUDYHALL)] if STUDYHALL.exists() else [sys.executable, "-m", "studyhall.cli"]
        return [*serve, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]

    return command


def worker_command(threads: int) -> Command:
    """`studyhall worker` (the job queue and the delivery of domain events, e.g. the
    analytics of each submission), its /metrics on the given port (used as its readiness
    check)."""

    def command(port: int) -> list[str]:
        worker = [str(STUDYHALL)] if STUDYHALL.exists() else [sys.executable, "-m", "studyhall.cli"]
        return [*worker, "worker", "--threads", str(threads), "--metrics-port", str(port)]

    return command


def uvicorn_command(app: str, workers: int) -> Command:
    """`app` (a `module:factory`) under uvicorn."""
    return lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-server-header",
    ]


async def _wait_ready(process: asyncio.subprocess.Process, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"{url} exited with {process.returncode}; see {log}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {STARTUP_SECONDS:.0f} s; see {log}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End the child we started (by its pid): SIGTERM, then SIGKILL if it hangs."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), STOP_SECONDS)


@asynccontextmanager
async def serving(
    name: str,
    command: Command,
    environment: Mapping[str, str],
    health_path: str,
    log_dir: Path,
) -> AsyncIterator[Server]:
    """Run `command` on a free port until the block ends; its output goes to
    `log_dir/<name>.log`."""
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    log = log_dir / f"{name}.log"
    env = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}
    output = await asyncio.to_thread(_open_log, log)
    try:
        process = await asyncio.create_subprocess_exec(
            *command(port),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            await _wait_ready(process, base_url + health_path, log)
            yield Server(name=name, base_url=base_url, pid=process.pid)
        finally:
            await _stop(process)
    finally:
        output.close()


def _open_log(log: Path) -> BinaryIO:
    log.parent.mkdir(parents=True, exist_ok=True)
    return log.open("wb")
