"""Password reset by emailed link and password change; both end every session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import lockout, tasks
from studyhall.accounts.models import TokenPurpose, User
from studyhall.accounts.passwords import check_password_policy
from studyhall.accounts.service.common import (
    Principal,
    _consume_account_token,
    _security_event,
    _user_by_email,
    get_user,
)
from studyhall.accounts.service.sessions import revoke_all_sessions
from studyhall.accounts.tokens import invalidate_account_tokens
from studyhall.core.db import utcnow
from studyhall.core.errors import BadRequest
from studyhall.core.jobs import enqueue_after_commit
from studyhall.core.security import hash_password_off_loop, verify_password_off_loop
from studyhall.core.settings import Settings

PASSWORD_CHANGE_LOCKOUT = "password-change"  # noqa: S105 (a lockout scope)


async def request_password_reset(db: AsyncSession, settings: Settings, email: str) -> None:
    """Email a reset link if the account exists; the caller answers the same either way."""
    user = await _user_by_email(db, email)
    if user is None or not user.is_active:
        return
    # The job makes the link's token: it never passes through the queue.
    enqueue_after_commit(db, tasks.send_password_reset_email, user.id)


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
    db: AsyncSession,
    settings: Settings,
    principal: Principal,
    current_password: str,
    new_password: str,
) -> None:
    """Wrong current passwords count towards a lockout of the account's password changes
    (a stolen session must not become a way to guess the password)."""
    user = await get_user(db, principal.id)
    await lockout.refuse_if_locked(PASSWORD_CHANGE_LOCKOUT, str(user.id))
    if not await verify_password_off_loop(current_password, user.password_hash):
        await lockout.record_failure(settings, PASSWORD_CHANGE_LOCKOUT, str(user.id))
        _security_event("password_change_failed", user_id=str(user.id))
        raise BadRequest("The current password is incorrect.", code="invalid_credentials")
    await lockout.clear(PASSWORD_CHANGE_LOCKOUT, str(user.id))
    check_password_policy(new_password, user.email, user.name)
    await _set_password(db, user, new_password, "password_changed")


async def _set_password(db: AsyncSession, user: User, new_password: str, reason: str) -> None:
    user.password_hash = await hash_password_off_loop(new_password)
    await db.flush()
    # A new password retires every reset link sent for the old one.
    await invalidate_account_tokens(db, user.id, TokenPurpose.RESET_PASSWORD)
    await revoke_all_sessions(db, user.id, reason)
    _security_event(reason, user_id=str(user.id))
    enqueue_after_commit(db, tasks.send_password_changed_email, user.id)
