"""Sessions: browser cookies and API refresh-token families, access tokens, revocation."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import RefreshToken, Role, SessionKind, User, UserRole, UserSession
from studyhall.accounts.schemas import SessionRead, TokenPair, UserRead
from studyhall.accounts.service.common import (
    ACCESS,
    WEB_SESSION_TOUCH_SECONDS,
    Principal,
    _security_event,
    get_user,
)
from studyhall.core import cache
from studyhall.core.db import read_autocommit, utcnow
from studyhall.core.errors import NotFound, Unauthorized
from studyhall.core.security import (
    InvalidToken,
    decode_jwt,
    encode_jwt,
    hash_token,
    new_opaque_token,
)
from studyhall.core.settings import Settings


class RefreshTokenReused(Unauthorized):
    """A rotated refresh token came back: its family was revoked, and that must be committed."""

    commit_anyway = True


def _new_session(
    settings: Settings, user: User, kind: SessionKind, user_agent: str, ip: str
) -> UserSession:
    return UserSession(
        user_id=user.id,
        kind=kind.value,
        user_agent=user_agent[:400],
        ip_address=ip[:64],
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
    )


def _access_token(settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID) -> str:
    return encode_jwt(
        settings.effective_secret_key,
        str(user_id),
        ACCESS,
        timedelta(minutes=settings.access_token_minutes),
        sid=str(session_id),
    )


async def _issue_refresh_token(db: AsyncSession, session_id: uuid.UUID) -> str:
    raw = new_opaque_token()
    db.add(RefreshToken(session_id=session_id, token_hash=hash_token(raw)))
    await db.flush()
    return raw


async def _mark_signed_in(db: AsyncSession, user: User) -> None:
    user.last_login_at = utcnow()
    await db.flush()


async def start_api_session(
    db: AsyncSession, settings: Settings, user: User, user_agent: str, ip: str
) -> TokenPair:
    session = _new_session(settings, user, SessionKind.API, user_agent, ip)
    db.add(session)
    await db.flush()
    await _mark_signed_in(db, user)
    refresh = await _issue_refresh_token(db, session.id)
    return TokenPair(
        access_token=_access_token(settings, user.id, session.id),
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
    )


async def start_web_session(
    db: AsyncSession, settings: Settings, user: User, user_agent: str, ip: str
) -> str:
    """Create a browser session; returns the secret for the HttpOnly cookie."""
    secret = new_opaque_token()
    session = _new_session(settings, user, SessionKind.WEB, user_agent, ip)
    session.secret_hash = hash_token(secret)
    db.add(session)
    await db.flush()
    await _mark_signed_in(db, user)
    return secret


async def rotate_refresh_token(
    db: AsyncSession,
    settings: Settings,
    raw: str,
    user_agent: str,
    ip: str,
    now: datetime | None = None,
) -> TokenPair:
    """Exchange a refresh token for a new pair. Reusing a rotated token revokes its family.

    Within `refresh_grace_seconds` of its rotation, while its successor is unused, a rotated
    token gets that same successor pair (two tabs refreshing at once both stay signed in).
    On reuse after that the family is revoked (flushed) and `RefreshTokenReused` is raised:
    the caller must commit before answering, or the revocation is rolled back with the
    refused request.
    """
    now = now or utcnow()
    invalid = Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
    token_hash = hash_token(raw)
    token = await db.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    if token is None:
        raise invalid
    session = await db.get(UserSession, token.session_id)
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        raise invalid
    claimed = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return await _successor_within_grace(db, settings, token, session, ip, now)
    user = await get_user(db, session.user_id)
    if not user.is_active:
        raise invalid
    session.last_used_at = now
    session.ip_address = ip[:64]
    if user_agent:
        session.user_agent = user_agent[:400]
    refresh = await _issue_refresh_token(db, session.id)
    pair = TokenPair(
        access_token=_access_token(settings, user.id, session.id),
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
    )
    await _remember_successor(settings, token_hash, pair)
    return pair


# The successor pair of a just-rotated token, keyed by the rotated token's hash, lives in the
# cache for the grace period only (raw tokens never go to the database). It is written before
# the rotation commits, and a concurrent refresh of the same token waits on the row until then.
def _successor_key(token_hash: str) -> str:
    return f"refresh-successor:{token_hash}"


async def _remember_successor(settings: Settings, token_hash: str, pair: TokenPair) -> None:
    if settings.refresh_grace_seconds > 0:
        ttl = max(1, math.ceil(settings.refresh_grace_seconds))
        await cache.set_value(_successor_key(token_hash), pair.model_dump(), ttl)


async def _successor_within_grace(
    db: AsyncSession,
    settings: Settings,
    token: RefreshToken,
    session: UserSession,
    ip: str,
    now: datetime,
) -> TokenPair:
    """The pair already issued for `token` when it came back within the grace period and its
    successor is unused; else the reuse of a rotated token: revoke the family."""
    await db.refresh(token, ["rotated_at"])
    grace = timedelta(seconds=settings.refresh_grace_seconds)
    if token.rotated_at is not None and now - token.rotated_at <= grace:
        stored = await cache.get(_successor_key(token.token_hash))
        if stored is not None:
            pair = TokenPair.model_validate(stored)
            successor_unused = await db.scalar(
                select(RefreshToken.id).where(
                    RefreshToken.token_hash == hash_token(pair.refresh_token),
                    RefreshToken.rotated_at.is_(None),
                )
            )
            if successor_unused is not None:
                return pair
    await _revoke(db, [session.id], "refresh_token_reuse")
    _security_event(
        "refresh_token_reuse", user_id=str(session.user_id), session_id=str(session.id), ip=ip
    )
    raise RefreshTokenReused("The refresh token is not valid.", code="invalid_refresh_token")


async def _revoke(db: AsyncSession, session_ids: Sequence[uuid.UUID], reason: str) -> None:
    if not session_ids:
        return
    await db.execute(
        update(UserSession)
        .where(UserSession.id.in_(session_ids), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


async def revoke_session(db: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    session = await db.get(UserSession, session_id)
    if session is None or session.user_id != user_id:
        raise NotFound("No such session.", code="session_not_found")
    await _revoke(db, [session_id], "signed_out")


async def revoke_all_sessions(
    db: AsyncSession, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None
) -> int:
    conditions = [UserSession.user_id == user_id, UserSession.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(UserSession.id != keep)
    ids = list(await db.scalars(select(UserSession.id).where(*conditions)))
    await _revoke(db, ids, reason)
    return len(ids)


async def list_sessions(
    db: AsyncSession, user_id: uuid.UUID, current: uuid.UUID | None
) -> list[SessionRead]:
    rows = await db.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
        )
        .order_by(UserSession.last_used_at.desc())
    )
    return [
        SessionRead(
            id=s.id,
            kind=s.kind,
            device=describe_device(s.user_agent),
            ip_address=s.ip_address,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            current=s.id == current,
        )
        for s in rows
    ]


def describe_device(user_agent: str) -> str:
    """A short human label, e.g. "Firefox on Linux", from a User-Agent header."""
    ua = user_agent.lower()
    browser = next(
        (
            label
            for key, label in (
                ("edg/", "Edge"),
                ("firefox", "Firefox"),
                ("chrome", "Chrome"),
                ("safari", "Safari"),
                ("curl", "curl"),
                ("python", "Python"),
                ("httpx", "Python"),
            )
            if key in ua
        ),
        "Unknown browser",
    )
    system = next(
        (
            label
            for key, label in (
                ("android", "Android"),
                ("iphone", "iOS"),
                ("ipad", "iPadOS"),
                ("windows", "Windows"),
                ("mac os", "macOS"),
                ("linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser


_PRINCIPAL_COLUMNS = (
    UserSession.id.label("session_id"),
    UserSession.user_id,
    UserSession.revoked_at,
    UserSession.expires_at,
    UserSession.last_used_at,
    User.email,
    User.name,
    User.is_active,
    User.email_verified_at,
    User.totp_enabled,
    User.created_at,
    User.last_login_at,
    UserRole.role,
)


def _principal_query(*conditions: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return (
        select(*_PRINCIPAL_COLUMNS)
        .join(User, User.id == UserSession.user_id)
        .outerjoin(UserRole, UserRole.user_id == UserSession.user_id)
        .where(*conditions)
    )


# Built once: they run on every authenticated request (plain columns, no ORM objects).
_PRINCIPAL_BY_SESSION_ID = _principal_query(UserSession.id == bindparam("session_id"))
_PRINCIPAL_BY_WEB_SECRET = _principal_query(
    UserSession.secret_hash == bindparam("secret_hash"),
    UserSession.kind == SessionKind.WEB.value,
)


def _principal_of(rows: Sequence[Row[Any]], user_id: uuid.UUID | None = None) -> Principal:
    now = utcnow()
    first = rows[0] if rows else None
    if (
        first is None
        or first.revoked_at is not None
        or first.expires_at <= now
        or (user_id is not None and first.user_id != user_id)
    ):
        raise Unauthorized("Your session has ended; sign in again.", code="session_ended")
    if not first.is_active:
        raise Unauthorized("This account is deactivated.", code="account_inactive")
    user = UserRead(
        id=first.user_id,
        email=first.email,
        name=first.name,
        roles=sorted({Role(row.role) for row in rows if row.role is not None}),
        is_active=first.is_active,
        email_verified=first.email_verified_at is not None,
        totp_enabled=first.totp_enabled,
        created_at=first.created_at,
        last_login_at=first.last_login_at,
    )
    return Principal(user=user, session_id=first.session_id)


async def principal_from_access_token(
    db: AsyncSession, settings: Settings, token: str
) -> Principal:
    """Resolve a Bearer token: valid signature and expiry, and a live session and user."""
    try:
        claims = decode_jwt(settings.effective_secret_key, token, ACCESS)
        session_id = uuid.UUID(str(claims.get("sid")))
        user_id = uuid.UUID(str(claims["sub"]))
    except (InvalidToken, ValueError) as exc:
        raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
    rows = await read_autocommit(db, _PRINCIPAL_BY_SESSION_ID, {"session_id": session_id})
    return _principal_of(rows, user_id)


async def principal_from_web_secret(db: AsyncSession, secret: str) -> Principal:
    rows = await read_autocommit(db, _PRINCIPAL_BY_WEB_SECRET, {"secret_hash": hash_token(secret)})
    principal = _principal_of(rows)
    if (utcnow() - rows[0].last_used_at).total_seconds() > WEB_SESSION_TOUCH_SECONDS:
        await db.execute(
            update(UserSession)
            .where(UserSession.id == principal.session_id)
            .values(last_used_at=utcnow())
        )
    return principal


async def end_web_session(db: AsyncSession, secret: str) -> None:
    session_id = await db.scalar(
        select(UserSession.id).where(UserSession.secret_hash == hash_token(secret))
    )
    if session_id is not None:
        await _revoke(db, [session_id], "signed_out")


async def logout_api(db: AsyncSession, principal: Principal) -> None:
    await _revoke(db, [principal.session_id], "signed_out")
