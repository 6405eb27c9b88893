"""Sign-in: password check with progressive lockout, then the 2FA step."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import lockout, tasks
from studyhall.accounts.models import User
from studyhall.accounts.service.common import (
    MFA_CHALLENGE,
    LoginOutcome,
    _security_event,
    _user_by_email,
    get_user,
    normalize_email,
)
from studyhall.accounts.service.twofactor import _accept_second_factor
from studyhall.core import cache
from studyhall.core.errors import Forbidden, Unauthorized
from studyhall.core.jobs import enqueue_now
from studyhall.core.security import (
    InvalidToken,
    decode_jwt,
    encode_jwt,
    hash_token,
    verify_password_off_loop,
)
from studyhall.core.settings import Settings


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
            # Tell the owner once, when the first lock of a series starts.
            minutes = max(1, account_lock.retry_after // 60)
            await enqueue_now(tasks.send_account_locked_email, user.id, minutes, ip)
    if ip_lock.locked:
        _security_event("ip_locked", ip=ip, seconds=ip_lock.retry_after)


async def authenticate(
    db: AsyncSession, settings: Settings, email: str, password: str, ip: str
) -> LoginOutcome:
    """Check the password (with lockout); a user with 2FA gets a challenge instead of a session."""
    email = normalize_email(email)
    await lockout.refuse_if_locked("login", email)
    await lockout.refuse_if_locked("login-ip", ip)
    user = await _user_by_email(db, email)
    if user is None or not await verify_password_off_loop(
        password, user.password_hash if user else None
    ):
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
    await lockout.refuse_if_locked("2fa", str(user.id))
    await lockout.refuse_if_locked("2fa-ip", ip)
    if not user.totp_enabled or not user.is_active:
        raise Unauthorized("Two-factor sign-in is not possible.", code="invalid_challenge")
    if not await _accept_second_factor(db, settings, user, code):
        lock = await lockout.record_failure(settings, "2fa", str(user.id))
        await lockout.record_failure(settings, "2fa-ip", ip)
        _security_event("2fa_failed", user_id=str(user.id), ip=ip)
        if lock.locked:
            _security_event("2fa_locked", user_id=str(user.id), ip=ip, seconds=lock.retry_after)
            if lock.retry_after == settings.lockout_base_seconds:
                minutes = max(1, lock.retry_after // 60)
                await enqueue_now(tasks.send_account_locked_email, user.id, minutes, ip)
        raise Unauthorized("That code is not valid.", code="invalid_code")
    # A challenge is single-use too: one challenge, one session.
    if not await cache.set_if_absent(f"mfa-challenge:{claims['jti']}", "1", 3600):
        raise Unauthorized("This sign-in step was already used.", code="invalid_challenge")
    await lockout.clear("2fa", str(user.id))
    return user
