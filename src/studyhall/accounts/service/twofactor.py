"""Two-factor authentication: TOTP set-up, backup codes, and checking a second factor."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import totp
from studyhall.accounts.models import BackupCode, User
from studyhall.accounts.schemas import TotpSetup
from studyhall.accounts.service.common import Principal, _security_event, get_user
from studyhall.accounts.service.sessions import revoke_all_sessions
from studyhall.core.db import utcnow
from studyhall.core.errors import BadRequest, Conflict
from studyhall.core.security import verify_password_off_loop
from studyhall.core.settings import Settings


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


async def begin_totp_setup(db: AsyncSession, principal: Principal) -> TotpSetup:
    user = await get_user(db, principal.id)
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", code="totp_already_enabled")
    secret = totp.new_secret()
    user.totp_pending_secret = secret
    await db.flush()
    uri = totp.otpauth_uri(secret, user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=await totp.qr_svg_off_loop(uri))


async def pending_totp_setup(db: AsyncSession, principal: Principal) -> TotpSetup | None:
    """The set-up begun and not yet confirmed with a code (to show it again), else None."""
    user = await get_user(db, principal.id)
    secret = user.totp_pending_secret
    if user.totp_enabled or not secret:
        return None
    uri = totp.otpauth_uri(secret, user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=await totp.qr_svg_off_loop(uri))


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
    if not await verify_password_off_loop(
        password, user.password_hash
    ) or not await _accept_second_factor(db, settings, user, code):
        _security_event("2fa_disable_failed", user_id=str(user.id))
        raise BadRequest("Password or code is incorrect.", code="invalid_credentials")
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = 0
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    await db.flush()
    _security_event("2fa_disabled", user_id=str(user.id))
