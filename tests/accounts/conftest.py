"""Fixtures and helpers for the accounts tests (real backends; see tests/conftest.py)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import totp
from studyhall.accounts.models import Role, User, UserRole
from studyhall.core.db import utcnow
from studyhall.core.security import hash_password
from studyhall.core.settings import Settings
from tests.backends import Mailbox
from tests.conftest import PASSWORD, SignedInUser, settle_jobs, sign_in

API = "/api/v1"


@lru_cache(maxsize=1)
def password_hash() -> str:
    """One Argon2 hash of PASSWORD for every user the tests insert directly (hashing is slow)."""
    return hash_password(PASSWORD)


class MakeUser(Protocol):
    def __call__(
        self,
        email: str,
        name: str = ...,
        roles: Sequence[Role] = ...,
        *,
        verified: bool = ...,
        active: bool = ...,
    ) -> Awaitable[User]: ...


@pytest.fixture
def make_user(db: AsyncSession) -> MakeUser:
    """Insert a user (password PASSWORD) without going through registration and email."""

    async def make(
        email: str,
        name: str = "Some User",
        roles: Sequence[Role] = (Role.STUDENT,),
        *,
        verified: bool = True,
        active: bool = True,
    ) -> User:
        user = User(
            email=email,
            name=name,
            password_hash=password_hash(),
            email_verified_at=utcnow() if verified else None,
            is_active=active,
            roles=[UserRole(role=role.value) for role in roles],
        )
        db.add(user)
        await db.commit()
        return user

    return make


@pytest.fixture
async def signed_in(
    client: httpx.AsyncClient, make_user: MakeUser
) -> Callable[..., Awaitable[SignedInUser]]:
    """Insert a verified user and sign them in through the API."""

    async def make(
        email: str, name: str = "Some User", roles: Sequence[Role] = (Role.STUDENT,)
    ) -> SignedInUser:
        await make_user(email, name, roles)
        return await sign_in(client, email)

    return make


@pytest.fixture
async def student(client: httpx.AsyncClient, make_user: MakeUser) -> SignedInUser:
    """As tests/conftest.py's `student`, inserted directly (registration has its own tests)."""
    await make_user("student@example.com", "Sam Student")
    return await sign_in(client, "student@example.com")


@pytest.fixture
async def admin(client: httpx.AsyncClient, make_user: MakeUser) -> SignedInUser:
    """As tests/conftest.py's `admin` (admin and teacher roles), inserted directly."""
    await make_user("admin@example.com", "Ada Admin", (Role.ADMIN, Role.TEACHER))
    return await sign_in(client, "admin@example.com")


@pytest.fixture
def override_settings(app: FastAPI) -> Iterator[Callable[..., Settings]]:
    """Replace the app's settings for one test (handlers read request.app.state.settings)."""
    original: Settings = app.state.settings

    def apply(**changes: Any) -> Settings:
        app.state.settings = original.model_copy(update=changes)
        return app.state.settings  # type: ignore[no-any-return]

    yield apply
    app.state.settings = original


@pytest.fixture
async def client_from(app: FastAPI) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """Clients whose requests come from a given IP address."""
    clients: list[httpx.AsyncClient] = []

    def make(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        return http

    yield make
    for http in clients:
        await http.aclose()


class SecurityLog:
    """Security events as the JSON lines the app writes, captured from the stdlib root logger."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.formatter = structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ]
        )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for record in self.caplog.records:
            if record.name != "studyhall.security":
                continue
            line: dict[str, Any] = json.loads(self.formatter.format(record))
            if name is None or line.get("event") == name:
                found.append(line)
        return found


@pytest.fixture
def security_log(caplog: pytest.LogCaptureFixture) -> SecurityLog:
    caplog.set_level(logging.WARNING, logger="studyhall.security")
    return SecurityLog(caplog)


async def settle_mail(mailbox: Mailbox) -> None:
    """Wait until mail queued before now has been delivered (every queued job has ended)."""
    await settle_jobs()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ TOTP helpers


def current_step() -> int:
    return int(time.time() // totp.STEP_SECONDS)


def code_for_step(secret: str, step: int) -> str:
    return totp.code_at(secret, step * totp.STEP_SECONDS)


def wrong_code(secret: str) -> str:
    """A six-digit code that is valid in no step near now (so it fails deterministically)."""
    now = current_step()
    valid = {code_for_step(secret, step) for step in range(now - 3, now + 4)}
    return next(code for code in (f"{i:06d}" for i in range(1000)) if code not in valid)


@dataclass
class TwoFactor:
    secret: str
    backup_codes: list[str]
    enabled_step: int

    @property
    def next_code(self) -> str:
        """The code of the step after the one used to enable: valid now, and not yet used.

        The enable step was taken at most seconds ago, so the server's current step is that
        step or the next; either way the next step is inside the ±1 window.
        """
        return code_for_step(self.secret, self.enabled_step + 1)


async def enable_two_factor(client: httpx.AsyncClient, user: SignedInUser) -> TwoFactor:
    setup = await client.post(f"{API}/me/2fa/setup", headers=user.headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    step = current_step()
    enabled = await client.post(
        f"{API}/me/2fa/enable", headers=user.headers, json={"code": code_for_step(secret, step)}
    )
    assert enabled.status_code == 200, enabled.text
    return TwoFactor(secret, enabled.json()["backup_codes"], step)


async def rewind_totp(db: AsyncSession, user_id: str, step: int) -> None:
    """Let codes newer than `step` be used again (as if that step were the last one used)."""
    await db.execute(update(User).where(User.id == uuid.UUID(user_id)).values(totp_last_step=step))
    await db.commit()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password})


async def login_challenge(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await login(client, email, password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    challenge: str = body["challenge"]
    return challenge


async def second_step(client: httpx.AsyncClient, challenge: str, code: str) -> httpx.Response:
    return await client.post(f"{API}/auth/login/2fa", json={"challenge": challenge, "code": code})
