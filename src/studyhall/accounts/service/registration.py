"""Registration, email verification and the CLI's admin creation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import emails
from studyhall.accounts.models import Role, TokenPurpose, User
from studyhall.accounts.passwords import check_password_policy
from studyhall.accounts.service.common import (
    _consume_account_token,
    _create_user,
    _issue_account_token,
    _user_by_email,
    normalize_email,
)
from studyhall.core.db import after_commit, utcnow
from studyhall.core.errors import Conflict
from studyhall.core.security import hash_password
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
        hash_password(password)
        reset_link = f"{settings.base_url}/forgot-password"
        after_commit(db, lambda: emails.send_already_registered(email, reset_link))
        return None
    user = await _create_user(db, email, name, password, [Role.STUDENT])
    await send_verification_email(db, settings, user)
    return user


async def send_verification_email(db: AsyncSession, settings: Settings, user: User) -> None:
    raw = await _issue_account_token(
        db, user, TokenPurpose.VERIFY_EMAIL, timedelta(hours=settings.verification_hours)
    )
    link = f"{settings.base_url}/verify?token={raw}"
    to, name, hours = user.email, user.name, settings.verification_hours
    after_commit(db, lambda: emails.send_verification(to, name, link, hours))


async def resend_verification(db: AsyncSession, settings: Settings, email: str) -> None:
    """Silently does nothing for unknown or already verified addresses."""
    user = await _user_by_email(db, email)
    if user is not None and not user.is_verified and user.is_active:
        await send_verification_email(db, settings, user)


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
