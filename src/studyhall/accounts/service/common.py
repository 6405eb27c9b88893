"""Shared pieces of the accounts services: lookups, the principal, email tokens, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from studyhall.accounts.models import AccountToken, Role, TokenPurpose, User, UserRole
from studyhall.accounts.schemas import UserRead
from studyhall.core.db import utcnow
from studyhall.core.errors import BadRequest, NotFound
from studyhall.core.logging import security_event
from studyhall.core.metrics import SECURITY_EVENTS
from studyhall.core.security import hash_password_off_loop, hash_token

ACCESS = "access"


MFA_CHALLENGE = "mfa_challenge"


WEB_SESSION_TOUCH_SECONDS = 300


def _security_event(name: str, **fields: object) -> None:
    SECURITY_EVENTS.labels(name).inc()
    security_event(name, **fields)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def to_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        roles=sorted(user.role_names),
        is_active=user.is_active,
        email_verified=user.is_verified,
        totp_enabled=user.totp_enabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@dataclass(frozen=True)
class Principal:
    """Who is making the request, as the authorization dependencies see it."""

    user: UserRead
    session_id: uuid.UUID

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(self.user.roles)


@dataclass(frozen=True)
class LoginOutcome:
    """Password accepted. Either the user is signed in, or a 2FA code is still needed."""

    user: User
    challenge: str | None = None


async def _user_by_email(db: AsyncSession, email: str) -> User | None:
    return await db.scalar(
        select(User).where(User.email == normalize_email(email)).options(selectinload(User.roles))
    )


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User:
    user = await db.scalar(select(User).where(User.id == user_id).options(selectinload(User.roles)))
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def get_user_read(db: AsyncSession, user_id: uuid.UUID) -> UserRead:
    return to_read(await get_user(db, user_id))


async def _consume_account_token(db: AsyncSession, raw: str, purpose: TokenPurpose) -> User:
    """Mark a single-use token used; any failure gives the same answer."""
    now = utcnow()
    token = await db.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hash_token(raw), AccountToken.purpose == purpose.value
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise BadRequest("This link is invalid, used or expired.", code="invalid_token")
    claimed = await db.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise BadRequest("This link is invalid, used or expired.", code="invalid_token")
    return await get_user(db, token.user_id)


async def _create_user(
    db: AsyncSession,
    email: str,
    name: str,
    password: str,
    roles: Sequence[Role],
    verified: bool = False,
) -> User:
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        password_hash=await hash_password_off_loop(password),
        email_verified_at=utcnow() if verified else None,
        roles=[UserRole(role=role.value) for role in roles],
    )
    db.add(user)
    await db.flush()
    return user
