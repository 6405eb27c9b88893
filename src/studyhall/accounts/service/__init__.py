"""Accounts: registration, verification, sign-in with 2FA, sessions and refresh tokens, resets.

Services flush, never commit; the request's session commits. Emails are queued after commit.
Callers use `from studyhall.accounts import service` and `service.<name>`; the submodules are
an internal layout, so every public name is re-exported here.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.service.admin import list_users, set_active, set_roles
from studyhall.accounts.service.common import (
    ACCESS,
    MFA_CHALLENGE,
    WEB_SESSION_TOUCH_SECONDS,
    LoginOutcome,
    Principal,
    get_user,
    get_user_read,
    normalize_email,
    to_read,
)
from studyhall.accounts.service.passwords import (
    change_password,
    request_password_reset,
    reset_password,
)
from studyhall.accounts.service.registration import (
    create_admin,
    queue_verification_email,
    register_user,
    resend_verification,
    verify_email,
)
from studyhall.accounts.service.sessions import (
    RefreshTokenReused,
    describe_device,
    end_web_session,
    list_sessions,
    logout_api,
    principal_from_access_token,
    principal_from_web_secret,
    revoke_all_sessions,
    revoke_session,
    rotate_refresh_token,
    start_api_session,
    start_web_session,
)
from studyhall.accounts.service.signin import authenticate, complete_two_factor
from studyhall.accounts.service.twofactor import (
    begin_totp_setup,
    disable_totp,
    enable_totp,
    pending_totp_setup,
    regenerate_backup_codes,
    remaining_backup_codes,
)

__all__ = [
    "ACCESS",
    "MFA_CHALLENGE",
    "WEB_SESSION_TOUCH_SECONDS",
    "LoginOutcome",
    "Principal",
    "RefreshTokenReused",
    "authenticate",
    "begin_totp_setup",
    "change_password",
    "complete_two_factor",
    "create_admin",
    "describe_device",
    "disable_totp",
    "enable_totp",
    "end_web_session",
    "get_user",
    "get_user_read",
    "list_sessions",
    "list_users",
    "logout_api",
    "normalize_email",
    "pending_totp_setup",
    "principal_from_access_token",
    "principal_from_web_secret",
    "queue_verification_email",
    "regenerate_backup_codes",
    "register_user",
    "remaining_backup_codes",
    "request_password_reset",
    "resend_verification",
    "reset_password",
    "revoke_all_sessions",
    "revoke_session",
    "rotate_refresh_token",
    "set_active",
    "set_roles",
    "start_api_session",
    "start_web_session",
    "to_read",
    "user_names",
    "verify_email",
]


async def user_names(db: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names by id, in one query (leaderboards); unknown ids are left out."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return {}
    rows = await db.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
