"""Accounts: registration, verification, sign-in with 2FA, sessions and refresh tokens, resets.

Services flush, never commit; the request's session commits. Emails are queued after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from studyhall.accounts import emails, lockout, totp
from studyhall.accounts.models import (
    AccountToken,
    BackupCode,
    RefreshToken,
    Role,
    SessionKind,
    TokenPurpose,
    User,
    UserRole,
    UserSession,
)
from studyhall.accounts.passwords import check_password_policy
from studyhall.accounts.schemas import SessionRead, TokenPair, TotpSetup, UserRead
from studyhall.core import cache
from studyhall.core.db import after_commit, utcnow
from studyhall.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Locked,
    NotFound,
    Unauthorized,
)
from studyhall.core.logging import security_event
from studyhall.core.metrics import SECURITY_EVENTS
from studyhall.core.pagination import Page, PageParams
from studyhall.core.security import (
    InvalidToken,
    decode_jwt,
    encode_jwt,
    hash_password,
    hash_token,
    new_opaque_token,
    verify_password,
)
from studyhall.core.settings import Settings

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


# ---------------------------------------------------------------- lookups


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


# ---------------------------------------------------------------- registration


async def _issue_account_token(
    db: AsyncSession, user: User, purpose: TokenPurpose, lifetime: timedelta
) -> str:
    raw = new_opaque_token()
    db.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=hash_token(raw),
            expires_at=utcnow() + lifetime,
        )
    )
    await db.flush()
    return raw


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
        reset_link = f"{settings.base_url}/forgot-password"
        after_commit(db, lambda: emails.send_already_registered(email, reset_link))
        return None
    user = await _create_user(db, email, name, password, [Role.STUDENT])
    await send_verification_email(db, settings, user)
    return user


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
        password_hash=hash_password(password),
        email_verified_at=utcnow() if verified else None,
        roles=[UserRole(role=role.value) for role in roles],
    )
    db.add(user)
    await db.flush()
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


# ---------------------------------------------------------------- sign-in


async def _refuse_if_locked(scope: str, subject: str) -> None:
    state = await lockout.check(scope, subject)
    if state.locked:
        raise Locked(
            f"Too many failed attempts. Try again in {state.retry_after} seconds.",
            code="locked_out",
            headers={"Retry-After": str(state.retry_after)},
            extra={"retry_after": state.retry_after},
        )


async def _record_login_failure(settings: Settings, email: str, user: User | None, ip: str) -> None:
    """Count the failure. Mail is queued at once: the failed request's transaction rolls back."""
    account_lock = await lockout.record_failure(settings, "login", email)
    ip_lock = await lockout.record_failure(settings, "login-ip", ip)
    _security_event("login_failed", email_hash=hash_token(email)[:16], ip=ip)
    if account_lock.locked:
        _security_event(
            "account_locked",
            email_hash=hash_token(email)[:16],
            ip=ip,
            seconds=account_lock.retry_after,
        )
        if user is not None and account_lock.retry_after == settings.lockout_base_seconds:
            to, name, minutes = user.email, user.name, max(1, account_lock.retry_after // 60)
            # Tell the owner once, when the first lock of a series starts.
            emails.send_account_locked(to, name, minutes, ip)
    if ip_lock.locked:
        _security_event("ip_locked", ip=ip, seconds=ip_lock.retry_after)


async def authenticate(
    db: AsyncSession, settings: Settings, email: str, password: str, ip: str
) -> LoginOutcome:
    """Check the password (with lockout); a user with 2FA gets a challenge instead of a session."""
    email = normalize_email(email)
    await _refuse_if_locked("login", email)
    await _refuse_if_locked("login-ip", ip)
    user = await _user_by_email(db, email)
    if user is None or not verify_password(password, user.password_hash if user else None):
        await _record_login_failure(settings, email, user, ip)
        raise Unauthorized("Email or password is incorrect.", code="invalid_credentials")
    if not user.is_active:
        raise Forbidden("This account is deactivated.", code="account_inactive")
    if not user.is_verified:
        raise Forbidden(
            "Verify your email address first; we can send the link again.",
            code="email_not_verified",
        )
    await lockout.clear("login", email)
    if user.totp_enabled:
        challenge = encode_jwt(
            settings.effective_secret_key,
            str(user.id),
            MFA_CHALLENGE,
            timedelta(minutes=settings.twofa_challenge_minutes),
        )
        return LoginOutcome(user, challenge)
    return LoginOutcome(user)


async def complete_two_factor(
    db: AsyncSession, settings: Settings, challenge: str, code: str, ip: str
) -> User:
    """Second step of sign-in: a valid challenge plus a fresh TOTP code or an unused backup code."""
    try:
        claims = decode_jwt(settings.effective_secret_key, challenge, MFA_CHALLENGE)
    except InvalidToken as exc:
        raise Unauthorized(
            "The sign-in step expired; enter your password again.", code="invalid_challenge"
        ) from exc
    user = await get_user(db, uuid.UUID(claims["sub"]))
    await _refuse_if_locked("2fa", str(user.id))
    await _refuse_if_locked("2fa-ip", ip)
    if not user.totp_enabled or not user.is_active:
        raise Unauthorized("Two-factor sign-in is not possible.", code="invalid_challenge")
    if not await _accept_second_factor(db, settings, user, code):
        lock = await lockout.record_failure(settings, "2fa", str(user.id))
        await lockout.record_failure(settings, "2fa-ip", ip)
        _security_event("2fa_failed", user_id=str(user.id), ip=ip)
        if lock.locked:
            _security_event("2fa_locked", user_id=str(user.id), ip=ip, seconds=lock.retry_after)
            if lock.retry_after == settings.lockout_base_seconds:
                emails.send_account_locked(
                    user.email, user.name, max(1, lock.retry_after // 60), ip
                )
        raise Unauthorized("That code is not valid.", code="invalid_code")
    # A challenge is single-use too: one challenge, one session.
    if not await cache.set_if_absent(f"mfa-challenge:{claims['jti']}", "1", 3600):
        raise Unauthorized("This sign-in step was already used.", code="invalid_challenge")
    await lockout.clear("2fa", str(user.id))
    return user


async def _accept_second_factor(
    db: AsyncSession, settings: Settings, user: User, code: str
) -> bool:
    if totp.looks_like_backup_code(code):
        return await _use_backup_code(db, settings, user, code)
    return await _use_totp_code(db, user, code)


async def _use_totp_code(db: AsyncSession, user: User, code: str) -> bool:
    secret = user.totp_secret
    if not secret:
        return False
    step = totp.matching_step(secret, code, user.totp_last_step)
    if step is None:
        if totp.is_replay(secret, code, user.totp_last_step):
            _security_event("totp_replay", user_id=str(user.id))
        return False
    # Conditional update: two concurrent requests with one code cannot both win.
    claimed = await db.execute(
        update(User)
        .where(User.id == user.id, User.totp_last_step < step)
        .values(totp_last_step=step)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        _security_event("totp_replay", user_id=str(user.id))
        return False
    user.totp_last_step = step
    return True


async def _use_backup_code(db: AsyncSession, settings: Settings, user: User, code: str) -> bool:
    code_hash = totp.hash_backup_code(settings.effective_secret_key, code)
    claimed = await db.execute(
        update(BackupCode)
        .where(
            BackupCode.user_id == user.id,
            BackupCode.code_hash == code_hash,
            BackupCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        _security_event("backup_code_used", user_id=str(user.id))
        return True
    return False


# ---------------------------------------------------------------- sessions and tokens


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
    db: AsyncSession, settings: Settings, raw: str, user_agent: str, ip: str
) -> TokenPair:
    """Exchange a refresh token for a new pair. Reusing a rotated token revokes its family."""
    invalid = Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
    token = await db.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_token(raw)))
    if token is None:
        raise invalid
    session = await db.get(UserSession, token.session_id)
    if session is None or session.revoked_at is not None or session.expires_at <= utcnow():
        raise invalid
    claimed = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await _revoke(db, [session.id], "refresh_token_reuse")
        _security_event(
            "refresh_token_reuse", user_id=str(session.user_id), session_id=str(session.id), ip=ip
        )
        raise invalid
    user = await get_user(db, session.user_id)
    if not user.is_active:
        raise invalid
    session.last_used_at = utcnow()
    session.ip_address = ip[:64]
    if user_agent:
        session.user_agent = user_agent[:400]
    refresh = await _issue_refresh_token(db, session.id)
    return TokenPair(
        access_token=_access_token(settings, user.id, session.id),
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
    )


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


async def _principal_for_session(
    db: AsyncSession, session: UserSession | None, user_id: uuid.UUID | None = None
) -> Principal:
    now = utcnow()
    if (
        session is None
        or session.revoked_at is not None
        or session.expires_at <= now
        or (user_id is not None and session.user_id != user_id)
    ):
        raise Unauthorized("Your session has ended; sign in again.", code="session_ended")
    user = await get_user(db, session.user_id)
    if not user.is_active:
        raise Unauthorized("This account is deactivated.", code="account_inactive")
    return Principal(user=to_read(user), session_id=session.id)


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
    return await _principal_for_session(db, await db.get(UserSession, session_id), user_id)


async def principal_from_web_secret(db: AsyncSession, secret: str) -> Principal:
    session = await db.scalar(
        select(UserSession).where(
            UserSession.secret_hash == hash_token(secret), UserSession.kind == SessionKind.WEB.value
        )
    )
    principal = await _principal_for_session(db, session)
    assert session is not None
    if (utcnow() - session.last_used_at).total_seconds() > WEB_SESSION_TOUCH_SECONDS:
        session.last_used_at = utcnow()
        await db.flush()
    return principal


async def end_web_session(db: AsyncSession, secret: str) -> None:
    session_id = await db.scalar(
        select(UserSession.id).where(UserSession.secret_hash == hash_token(secret))
    )
    if session_id is not None:
        await _revoke(db, [session_id], "signed_out")


async def logout_api(db: AsyncSession, principal: Principal) -> None:
    await _revoke(db, [principal.session_id], "signed_out")


# ---------------------------------------------------------------- passwords


async def request_password_reset(db: AsyncSession, settings: Settings, email: str) -> None:
    """Email a reset link if the account exists; the caller answers the same either way."""
    user = await _user_by_email(db, email)
    if user is None or not user.is_active:
        return
    raw = await _issue_account_token(
        db, user, TokenPurpose.RESET_PASSWORD, timedelta(minutes=settings.reset_minutes)
    )
    link = f"{settings.base_url}/reset-password?token={raw}"
    to, name, minutes = user.email, user.name, settings.reset_minutes
    after_commit(db, lambda: emails.send_password_reset(to, name, link, minutes))


async def reset_password(db: AsyncSession, raw_token: str, new_password: str) -> User:
    user = await _consume_account_token(db, raw_token, TokenPurpose.RESET_PASSWORD)
    check_password_policy(new_password, user.email, user.name)
    await _set_password(db, user, new_password, "password_reset")
    # Following an emailed link proves the address too.
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await lockout.clear("login", user.email)
    return user


async def change_password(
    db: AsyncSession, principal: Principal, current_password: str, new_password: str
) -> None:
    user = await get_user(db, principal.id)
    if not verify_password(current_password, user.password_hash):
        raise BadRequest("The current password is incorrect.", code="invalid_credentials")
    check_password_policy(new_password, user.email, user.name)
    await _set_password(db, user, new_password, "password_changed")


async def _set_password(db: AsyncSession, user: User, new_password: str, reason: str) -> None:
    user.password_hash = hash_password(new_password)
    await db.flush()
    await revoke_all_sessions(db, user.id, reason)
    _security_event(reason, user_id=str(user.id))
    to, name = user.email, user.name
    after_commit(db, lambda: emails.send_password_changed(to, name))


# ---------------------------------------------------------------- two-factor setup


async def begin_totp_setup(db: AsyncSession, principal: Principal) -> TotpSetup:
    user = await get_user(db, principal.id)
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", code="totp_already_enabled")
    secret = totp.new_secret()
    user.totp_pending_secret = secret
    await db.flush()
    uri = totp.otpauth_uri(secret, user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


async def enable_totp(
    db: AsyncSession, settings: Settings, principal: Principal, code: str
) -> list[str]:
    """Turn 2FA on with a code from the pending secret; returns the ten backup codes once."""
    user = await get_user(db, principal.id)
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", code="totp_already_enabled")
    secret = user.totp_pending_secret
    if not secret:
        raise BadRequest("Start the set-up first.", code="totp_setup_missing")
    step = totp.matching_step(secret, code, 0)
    if step is None:
        raise BadRequest("That code is not valid; check your device's clock.", code="invalid_code")
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_enabled = True
    user.totp_last_step = step
    codes = await _replace_backup_codes(db, settings, user)
    await revoke_all_sessions(db, user.id, "2fa_enabled", keep=principal.session_id)
    _security_event("2fa_enabled", user_id=str(user.id))
    return codes


async def _replace_backup_codes(db: AsyncSession, settings: Settings, user: User) -> list[str]:
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    codes = totp.new_backup_codes()
    db.add_all(
        BackupCode(
            user_id=user.id, code_hash=totp.hash_backup_code(settings.effective_secret_key, c)
        )
        for c in codes
    )
    await db.flush()
    return codes


async def regenerate_backup_codes(
    db: AsyncSession, settings: Settings, principal: Principal, code: str
) -> list[str]:
    user = await get_user(db, principal.id)
    if not user.totp_enabled or not await _use_totp_code(db, user, code):
        raise BadRequest("That code is not valid.", code="invalid_code")
    return await _replace_backup_codes(db, settings, user)


async def remaining_backup_codes(db: AsyncSession, user_id: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count()).where(BackupCode.user_id == user_id, BackupCode.used_at.is_(None))
    )
    return int(count or 0)


async def disable_totp(
    db: AsyncSession, settings: Settings, principal: Principal, password: str, code: str
) -> None:
    user = await get_user(db, principal.id)
    if not user.totp_enabled:
        raise Conflict("Two-factor authentication is off.", code="totp_not_enabled")
    if not verify_password(password, user.password_hash) or not await _accept_second_factor(
        db, settings, user, code
    ):
        _security_event("2fa_disable_failed", user_id=str(user.id))
        raise BadRequest("Password or code is incorrect.", code="invalid_credentials")
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = 0
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    await db.flush()
    _security_event("2fa_disabled", user_id=str(user.id))


# ---------------------------------------------------------------- administration


async def list_users(
    db: AsyncSession, params: PageParams, query: str = "", role: Role | None = None
) -> Page[UserRead]:
    conditions = []
    if query:
        pattern = f"%{query.lower()}%"
        conditions.append(or_(User.email.like(pattern), func.lower(User.name).like(pattern)))
    if role is not None:
        conditions.append(User.id.in_(select(UserRole.user_id).where(UserRole.role == role.value)))
    total = await db.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    users = await db.scalars(
        select(User)
        .where(*conditions)
        .options(selectinload(User.roles))
        .order_by(User.created_at.desc(), User.id)
        .offset(params.offset)
        .limit(params.per_page)
    )
    return Page(
        items=[to_read(u) for u in users], total=total, page=params.page, per_page=params.per_page
    )


async def set_roles(
    db: AsyncSession, actor: Principal, user_id: uuid.UUID, roles: Sequence[Role]
) -> UserRead:
    user = await get_user(db, user_id)
    if user.id == actor.id and Role.ADMIN not in roles:
        raise Conflict("You cannot remove your own admin role.", code="self_demotion")
    user.roles = [UserRole(role=role.value) for role in sorted(set(roles))]
    await db.flush()
    _security_event(
        "roles_changed",
        user_id=str(user.id),
        by=str(actor.id),
        roles=sorted(r.value for r in roles),
    )
    return to_read(user)


async def set_active(
    db: AsyncSession, actor: Principal, user_id: uuid.UUID, is_active: bool
) -> UserRead:
    user = await get_user(db, user_id)
    if user.id == actor.id and not is_active:
        raise Conflict("You cannot deactivate yourself.", code="self_deactivation")
    user.is_active = is_active
    await db.flush()
    if not is_active:
        await revoke_all_sessions(db, user.id, "deactivated")
    _security_event(
        "user_activation_changed", user_id=str(user.id), by=str(actor.id), is_active=is_active
    )
    return to_read(user)
