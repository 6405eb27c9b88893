"""Registration, email verification and the CLI's admin creation."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import tasks
from studyhall.accounts.models import Role, TokenPurpose, User
from studyhall.accounts.passwords import check_password_policy
from studyhall.accounts.service.common import (
    _consume_account_token,
    _create_user,
    _user_by_email,
    normalize_email,
)
from studyhall.core.db import utcnow
from studyhall.core.errors import Conflict
from studyhall.core.jobs import enqueue_after_commit
from studyhall.core.security import hash_password_off_loop
from studyhall.core.settings import Settings


async def register_user(
    db: AsyncSession, settings: Settings, email: str, name: str, password: str
) -> User | None:
    """Create an unverified student and email a verification link.

    Returns None when the email is taken: the caller answers exactly as for a new account
    and the owner of the address is told by email instead.
    """
    email = normalize_email(email)
    check_password_policy(password, email, name)
    existing = await _user_by_email(db, email)
    if existing is not None:
        # Hash anyway: answering faster than a real sign-up would reveal that the address exists.
        await hash_password_off_loop(password)
        enqueue_after_commit(db, tasks.send_already_registered_email, existing.id)
        return None
    user = await _create_user(db, email, name, password, [Role.STUDENT])
    queue_verification_email(db, user.id)
    return user


def queue_verification_email(db: AsyncSession, user_id: uuid.UUID) -> None:
    """Once the transaction commits, a job emails the user a fresh verification link."""
    enqueue_after_commit(db, tasks.send_verification_email, user_id)


async def resend_verification(db: AsyncSession, settings: Settings, email: str) -> None:
    """Silently does nothing for unknown or already verified addresses."""
    user = await _user_by_email(db, email)
    if user is not None and not user.is_verified and user.is_active:
        queue_verification_email(db, user.id)


async def verify_email(db: AsyncSession, raw_token: str) -> User:
    user = await _consume_account_token(db, raw_token, TokenPurpose.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await db.flush()
    return user


async def create_admin(db: AsyncSession, email: str, name: str, password: str) -> User:
    """The first admin (CLI): verified, with every role, password policy enforced."""
    check_password_policy(password, email, name)
    if await _user_by_email(db, email) is not None:
        raise Conflict("A user with this email already exists.", code="email_taken")
    return await _create_user(db, email, name, password, [Role.ADMIN, Role.TEACHER], verified=True)
