"""Background work of accounts: its emails.

A job carries the user's id (and plain values such as a lock's minutes); it loads the user in
its own transaction, makes the single-use token where the message has a link (only its hash
is stored, and the transaction commits before the message leaves), renders the message and
sends it. Neither the token nor the message ever sits in the queue. A retry after a failed
send makes a new token; the unsent one is known to nobody and expires.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import emails
from studyhall.accounts.models import TokenPurpose, User
from studyhall.accounts.tokens import issue_account_token
from studyhall.core.db import session_scope
from studyhall.core.email import Email, deliver_email
from studyhall.core.jobs import job_context, run_async, task
from studyhall.core.settings import Settings

Prepare = Callable[[AsyncSession, Settings], Awaitable[Email | None]]


def _send(prepare: Prepare) -> None:
    """Prepare the message on the loop that owns the database clients, then send it from
    this job thread (SMTP blocks)."""

    async def prepared() -> tuple[Email | None, Settings]:
        async with job_context() as job, session_scope(job.sessionmaker) as db:
            return await prepare(db, job.settings), job.settings

    email, settings = run_async(prepared)
    if email is not None:
        deliver_email(email, settings)


async def verification_email(
    db: AsyncSession, settings: Settings, user_id: uuid.UUID
) -> Email | None:
    """None when the user is gone, deactivated or already verified: nothing to send."""
    user = await db.get(User, user_id)
    if user is None or user.is_verified or not user.is_active:
        return None
    hours = settings.verification_hours
    raw = await issue_account_token(db, user.id, TokenPurpose.VERIFY_EMAIL, timedelta(hours=hours))
    link = f"{settings.base_url}/verify?token={raw}"
    return emails.verification(user.email, user.name, link, hours)


async def password_reset_email(
    db: AsyncSession, settings: Settings, user_id: uuid.UUID
) -> Email | None:
    user = await db.get(User, user_id)
    if user is None or not user.is_active:
        return None
    minutes = settings.reset_minutes
    raw = await issue_account_token(
        db, user.id, TokenPurpose.RESET_PASSWORD, timedelta(minutes=minutes)
    )
    link = f"{settings.base_url}/reset-password?token={raw}"
    return emails.password_reset(user.email, user.name, link, minutes)


async def already_registered_email(
    db: AsyncSession, settings: Settings, user_id: uuid.UUID
) -> Email | None:
    user = await db.get(User, user_id)
    if user is None:
        return None
    return emails.already_registered(user.email, f"{settings.base_url}/forgot-password")


async def password_changed_email(db: AsyncSession, user_id: uuid.UUID) -> Email | None:
    user = await db.get(User, user_id)
    return None if user is None else emails.password_changed(user.email, user.name)


async def account_locked_email(
    db: AsyncSession, user_id: uuid.UUID, minutes: int, ip: str
) -> Email | None:
    user = await db.get(User, user_id)
    return None if user is None else emails.account_locked(user.email, user.name, minutes, ip)


@task()  # type: ignore[untyped-decorator]
def send_verification_email(user_id: uuid.UUID) -> None:
    _send(lambda db, settings: verification_email(db, settings, user_id))


@task()  # type: ignore[untyped-decorator]
def send_password_reset_email(user_id: uuid.UUID) -> None:
    _send(lambda db, settings: password_reset_email(db, settings, user_id))


@task()  # type: ignore[untyped-decorator]
def send_already_registered_email(user_id: uuid.UUID) -> None:
    _send(lambda db, settings: already_registered_email(db, settings, user_id))


@task()  # type: ignore[untyped-decorator]
def send_password_changed_email(user_id: uuid.UUID) -> None:
    _send(lambda db, _settings: password_changed_email(db, user_id))


@task()  # type: ignore[untyped-decorator]
def send_account_locked_email(user_id: uuid.UUID, minutes: int, ip: str) -> None:
    _send(lambda db, _settings: account_locked_email(db, user_id, minutes, ip))
