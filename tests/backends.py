"""Real backends for the tests: a database per run, an SMTP sink, and cleanup between tests.

The suite runs on the embedded defaults (SQLite file, memory cache) unless
STUDYHALL_TEST_DATABASE_URL / STUDYHALL_TEST_REDIS_URL point at PostgreSQL / Redis.
"""

from __future__ import annotations

import asyncio
import email
import os
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], within: float) -> None:
    """Poll `url` until it answers 200; fail if `process` exits first or `within` runs out."""
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


@dataclass
class TestEnvironment:
    var_dir: Path
    database_url: str
    redis_url: str
    smtp_port: int
    admin_database_url: str | None = None
    database_name: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def env(self) -> dict[str, str]:
        return {
            "STUDYHALL_ENV": "test",
            "STUDYHALL_VAR_DIR": str(self.var_dir),
            "STUDYHALL_DATABASE_URL": self.database_url,
            "STUDYHALL_REDIS_URL": self.redis_url,
            # Concurrent runs sharing one Redis keep their keys and queue apart.
            "STUDYHALL_REDIS_NAMESPACE": f"studyhall-test-{self.var_dir.name}",
            "STUDYHALL_SMTP_HOST": "127.0.0.1",
            "STUDYHALL_SMTP_PORT": str(self.smtp_port),
            "STUDYHALL_SMTP_STARTTLS": "false",
            "STUDYHALL_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "STUDYHALL_LOG_LEVEL": "WARNING",
        }


def prepare_environment() -> TestEnvironment:
    """Decide the backends and export the settings before any studyhall module is imported."""
    var_dir = Path(tempfile.mkdtemp(prefix="studyhall-test-"))
    base_url = os.environ.get("STUDYHALL_TEST_DATABASE_URL", "")
    redis_url = os.environ.get("STUDYHALL_TEST_REDIS_URL", "")
    if base_url:
        name = f"studyhall_test_{uuid.uuid4().hex[:10]}"
        url = make_url(base_url)
        env = TestEnvironment(
            var_dir=var_dir,
            database_url=url.set(database=name).render_as_string(hide_password=False),
            redis_url=redis_url,
            smtp_port=free_port(),
            admin_database_url=url.render_as_string(hide_password=False),
            database_name=name,
        )
    else:
        env = TestEnvironment(
            var_dir=var_dir,
            database_url=f"sqlite+aiosqlite:///{var_dir / 'test.db'}",
            redis_url=redis_url,
            smtp_port=free_port(),
        )
    os.environ.update(env.env())
    return env


async def create_database(env: TestEnvironment) -> None:
    if not env.is_postgres:
        return
    assert env.admin_database_url and env.database_name
    engine = create_async_engine(env.admin_database_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{env.database_name}"'))
    await engine.dispose()


async def drop_database(env: TestEnvironment) -> None:
    if not env.is_postgres:
        return
    assert env.admin_database_url and env.database_name
    engine = create_async_engine(env.admin_database_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{env.database_name}" WITH (FORCE)'))
    await engine.dispose()


@dataclass
class Mailbox:
    """Messages received by the test SMTP server."""

    messages: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> None:
        with self._lock:
            self.messages.append(email.message_from_bytes(raw))

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    async def wait_for(self, to: str, subject_contains: str = "", within: float = 15) -> Message:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if message["To"] == to and subject_contains in str(message["Subject"]):
                        return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"no email to {to} about {subject_contains!r} within {within}s")

    def sent_to(self, to: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m["To"] == to]


def message_text(message: Message) -> str:
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                return payload.decode() if isinstance(payload, bytes) else str(payload)
    payload = message.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(payload)


class _SinkHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mailbox.add(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_smtp_server(port: int, mailbox: Mailbox) -> Controller:
    controller = Controller(_SinkHandler(mailbox), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def _running_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # a thread without an event loop
        return None


@contextmanager
def recorded_statements(engine: AsyncEngine, *, every_task: bool = False) -> Iterator[list[str]]:
    """Every SQL statement the engine sends for the calling task while the block runs,
    whitespace collapsed.

    Only the caller's, unless `every_task`: the in-process worker shares the engine, and its
    event deliveries and minute sweeps run meanwhile in tasks of their own (a request made
    through the ASGI transport runs in the caller's task).
    """
    statements: list[str] = []
    caller = asyncio.current_task()

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if every_task or _running_task() is caller:
            statements.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
