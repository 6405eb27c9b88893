"""Fixtures on real backends; see tests/backends.py for how they are chosen."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.backends import (
    Mailbox,
    TestEnvironment,
    create_database,
    drop_database,
    message_text,
    prepare_environment,
    start_smtp_server,
)

ENV = prepare_environment()

# Imported only now: settings, the job queue and the cache read the environment set above.
from fastapi import FastAPI  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from studyhall.accounts.models import Role, User, UserRole  # noqa: E402
from studyhall.app import create_app  # noqa: E402
from studyhall.core import jobs  # noqa: E402
from studyhall.core.db import utcnow  # noqa: E402
from studyhall.core.email import deliver  # noqa: E402
from studyhall.core.events import PassResult, deliver_pending, take_delivery_turn  # noqa: E402
from studyhall.core.metrics import registry  # noqa: E402
from studyhall.core.security import hash_password  # noqa: E402
from studyhall.core.settings import Settings, get_settings  # noqa: E402
from studyhall.migrate import upgrade  # noqa: E402
from studyhall.models import metadata  # noqa: E402

PASSWORD = "a long and unusual passphrase"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_\-]+)")


@jobs.task(retries=0)  # type: ignore[untyped-decorator]
def deliver_test_mail(to: str, subject: str) -> None:
    """A job that sends a message whose text is its subject (for tests of the queue)."""
    deliver(to, subject, subject)


def _job_signals(state: str) -> float:
    total = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "studyhall_jobs_total" and sample.labels["state"] == state:
                total += sample.value
    return total


def jobs_settled() -> bool:
    """Every job this process queued has run to its end (none waits, runs or awaits a retry).

    The in-process consumer is the queue's only one in the tests, and enqueues, runs and
    outcomes are all counted here (huey's signals feed the job metrics)."""
    ended = sum(_job_signals(s) for s in ("complete", "error", "revoked", "expired"))
    if _job_signals("enqueued") != ended:
        return False
    return bool(jobs.huey.pending_count() == 0 and jobs.huey.scheduled_count() == 0)


async def settle_jobs(within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(jobs_settled):
        assert time.monotonic() < deadline, f"jobs still running after {within}s"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def test_env() -> TestEnvironment:
    return ENV


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = start_smtp_server(ENV.smtp_port, box)
    yield box
    controller.stop()


@pytest.fixture(scope="session")
async def migrated_database() -> AsyncIterator[str]:
    await create_database(ENV)
    upgrade(ENV.database_url)
    yield ENV.database_url
    await drop_database(ENV)


@pytest.fixture
async def fresh_postgres_url() -> AsyncIterator[str]:
    """A uniquely named, empty database on the test PostgreSQL server, dropped afterwards.

    The server is STUDYHALL_TEST_DATABASE_URL's (where a database may be created); without it
    the local default server is tried and the test is skipped only if it is unreachable."""
    configured = os.environ.get("STUDYHALL_TEST_DATABASE_URL", "")
    admin_url = make_url(configured or DEFAULT_POSTGRES)
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"studyhall_fresh_{uuid.uuid4().hex[:10]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, ConnectionError) as exc:
        await admin.dispose()
        if configured:
            raise  # asked for PostgreSQL explicitly: an unreachable server is a failure
        pytest.skip(
            f"no PostgreSQL at {admin_url.render_as_string()} ({exc!r}); set "
            "STUDYHALL_TEST_DATABASE_URL to run this test on PostgreSQL"
        )
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
async def app(
    migrated_database: str, mailbox: Mailbox, settings: Settings
) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _wipe(application: FastAPI) -> None:
    factory = application.state.sessionmaker
    async with factory() as session:
        # After the delivery pass running now (the worker's, after the test's last commit),
        # and before the next: a pass and the wipe would otherwise lock rows in other orders.
        await take_delivery_turn(session)
        for table in reversed(metadata.sorted_tables):
            await session.execute(delete(table))
        await session.commit()


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts with empty tables, cache, rate limits and mailbox."""
    yield
    if "app" not in request.fixturenames:
        return
    application: FastAPI = request.getfixturevalue("app")
    await _wipe(application)
    from studyhall.core.cache import clear_namespace
    from studyhall.core.ratelimit import get_limiter

    await clear_namespace()
    await get_limiter().reset()
    request.getfixturevalue("mailbox").clear()


async def deliver_events(app: FastAPI) -> PassResult:
    """Deliver every domain event due now (the worker's delivery pass, run here and awaited),
    so what subscribers keep (analytics) reflects everything committed so far."""
    return await deliver_pending(app.state.sessionmaker)


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    """Poll `condition` until it holds; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{condition.__name__} did not hold within {within}s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session for arranging data directly through services; committed on exit."""
    async with app.state.sessionmaker() as session:
        yield session
        await session.commit()


@dataclass
class SignedInUser:
    email: str
    password: str
    access_token: str
    refresh_token: str
    id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register_and_verify(
    client: httpx.AsyncClient,
    mailbox: Mailbox,
    email: str,
    name: str = "Test User",
    password: str = PASSWORD,
) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "name": name, "password": password}
    )
    assert response.status_code == 202, response.text
    message = await mailbox.wait_for(email, "Verify")
    match = TOKEN_IN_LINK.search(message_text(message))
    assert match, message_text(message)
    verified = await client.post("/api/v1/auth/verify-email", json={"token": match.group(1)})
    assert verified.status_code == 200, verified.text


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> SignedInUser:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    return SignedInUser(
        email, password, body["access_token"], body["refresh_token"], me.json()["id"]
    )


@pytest.fixture
async def student(client: httpx.AsyncClient, mailbox: Mailbox) -> SignedInUser:
    await register_and_verify(client, mailbox, "student@example.com", "Sam Student")
    return await sign_in(client, "student@example.com")


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: AsyncSession) -> SignedInUser:
    from studyhall.accounts import service

    await service.create_admin(db, "admin@example.com", "Ada Admin", PASSWORD)
    await db.commit()
    return await sign_in(client, "admin@example.com")


MakeVerifiedUser = Callable[..., Awaitable[SignedInUser]]


@lru_cache(maxsize=1)
def shared_password_hash() -> str:
    """One Argon2 hash of PASSWORD for users inserted directly (hashing costs ~50 ms each)."""
    return hash_password(PASSWORD)


@pytest.fixture
def verified_user(client: httpx.AsyncClient, db: AsyncSession) -> MakeVerifiedUser:
    """Insert a verified user with `roles` (password PASSWORD) and sign them in via the API."""

    async def make(
        email: str, roles: Sequence[Role] = (Role.STUDENT,), name: str | None = None
    ) -> SignedInUser:
        db.add(
            User(
                email=email,
                name=name or email.split("@")[0],
                password_hash=shared_password_hash(),
                email_verified_at=utcnow(),
                roles=[UserRole(role=role.value) for role in roles],
            )
        )
        await db.commit()
        return await sign_in(client, email)

    return make


@pytest.fixture
async def teacher(verified_user: MakeVerifiedUser) -> SignedInUser:
    return await verified_user("teacher@example.com", (Role.TEACHER,))


@pytest.fixture
async def other_teacher(verified_user: MakeVerifiedUser) -> SignedInUser:
    return await verified_user("teacher2@example.com", (Role.TEACHER,))


@pytest.fixture
async def learner(verified_user: MakeVerifiedUser) -> SignedInUser:
    return await verified_user("learner@example.com")


@pytest.fixture
async def learner2(verified_user: MakeVerifiedUser) -> SignedInUser:
    return await verified_user("learner2@example.com")
