"""What each accounts request does, for the JSON API and the pages alike.

Both doors call these functions, which apply the request's rules (roles, rate limits; the
lockouts live in the services they call) and then the service. A door only parses its input
and renders the outcome, so the two cannot apply different rules. See core/requests.py.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service
from studyhall.accounts.models import User
from studyhall.accounts.schemas import (
    LoginRequest,
    PasswordChange,
    PasswordResetConfirm,
    Role,
    SessionRead,
    TokenPair,
    TotpSetup,
    TwoFactorLoginRequest,
    UserCreate,
)
from studyhall.accounts.service import LoginOutcome, Principal
from studyhall.core.errors import Forbidden
from studyhall.core.requests import LimitRule, RequestContext

# ---------------------------------------------------------------- the rules

REGISTER = LimitRule("register", "rate_limit_register")  # per IP; resending shares it
LOGIN_IP = LimitRule("login_ip", "rate_limit_login_ip")
LOGIN_ACCOUNT = LimitRule("login_account", "rate_limit_login_account")  # per email
TWO_FACTOR = LimitRule("2fa", "rate_limit_2fa")  # per IP at sign-in, per user once signed in
PASSWORD_RESET = LimitRule("password_reset", "rate_limit_password_reset")  # per IP
# The current password is checked: limited like sign-in attempts, per user.
PASSWORD_CHANGE = LimitRule("password_change", "rate_limit_login_account")
# Every signed-in request, whichever door: load shedding, in clock-aligned windows.
USER_REQUESTS = LimitRule("user_api", "rate_limit_user", exact=False)


def require_roles(principal: Principal, *roles: Role) -> Principal:
    """Let through users holding any of `roles` (admins always pass)."""
    if not principal.roles & (frozenset(roles) | {Role.ADMIN}):
        raise Forbidden("Your role does not allow this.", code="insufficient_role")
    return principal


async def count_user_request(ctx: RequestContext, principal: Principal) -> None:
    await ctx.spend(USER_REQUESTS, str(principal.id))


# ---------------------------------------------------------------- sign-up and verification


async def register(db: AsyncSession, ctx: RequestContext, data: UserCreate) -> None:
    """A taken address is answered like a new one; its owner is told by email."""
    await ctx.spend(REGISTER, ctx.ip)
    await service.register_user(db, ctx.settings, data.email, data.name, data.password)


async def verify_email(db: AsyncSession, token: str) -> None:
    await service.verify_email(db, token)


async def resend_verification(db: AsyncSession, ctx: RequestContext, email: str) -> None:
    await ctx.spend(REGISTER, ctx.ip)
    await service.resend_verification(db, ctx.settings, email)


# ---------------------------------------------------------------- sign-in and sessions


async def sign_in(db: AsyncSession, ctx: RequestContext, data: LoginRequest) -> LoginOutcome:
    """Check the password (lockouts per account and per IP); 2FA users get a challenge.
    The caller then opens the session its door uses (`open_api_session`/`open_web_session`)."""
    await ctx.spend(LOGIN_IP, ctx.ip)
    await ctx.spend(LOGIN_ACCOUNT, service.normalize_email(data.email))
    return await service.authenticate(db, ctx.settings, data.email, data.password, ctx.ip)


async def complete_two_factor(
    db: AsyncSession, ctx: RequestContext, data: TwoFactorLoginRequest
) -> User:
    await ctx.spend(TWO_FACTOR, ctx.ip)
    return await service.complete_two_factor(db, ctx.settings, data.challenge, data.code, ctx.ip)


async def open_api_session(db: AsyncSession, ctx: RequestContext, user: User) -> TokenPair:
    return await service.start_api_session(db, ctx.settings, user, ctx.user_agent, ctx.ip)


async def open_web_session(db: AsyncSession, ctx: RequestContext, user: User) -> str:
    """The browser session's secret, for its cookie."""
    return await service.start_web_session(db, ctx.settings, user, ctx.user_agent, ctx.ip)


async def refresh(db: AsyncSession, ctx: RequestContext, refresh_token: str) -> TokenPair:
    return await service.rotate_refresh_token(
        db, ctx.settings, refresh_token, ctx.user_agent, ctx.ip
    )


async def sign_out(db: AsyncSession, principal: Principal) -> None:
    """End the session making the request."""
    await service.logout_api(db, principal)


async def list_sessions(db: AsyncSession, principal: Principal) -> list[SessionRead]:
    return await service.list_sessions(db, principal.id, principal.session_id)


async def revoke_session(db: AsyncSession, principal: Principal, session_id: uuid.UUID) -> None:
    await service.revoke_session(db, principal.id, session_id)


async def revoke_sessions(db: AsyncSession, principal: Principal, keep_current: bool) -> int:
    """Sign out every session of the user (but the current one with `keep_current`)."""
    keep = principal.session_id if keep_current else None
    return await service.revoke_all_sessions(db, principal.id, "signed_out_everywhere", keep=keep)


# ---------------------------------------------------------------- passwords


async def request_password_reset(db: AsyncSession, ctx: RequestContext, email: str) -> None:
    await ctx.spend(PASSWORD_RESET, ctx.ip)
    await service.request_password_reset(db, ctx.settings, email)


async def reset_password(db: AsyncSession, ctx: RequestContext, data: PasswordResetConfirm) -> User:
    """Every session of the user is signed out."""
    await ctx.spend(PASSWORD_RESET, ctx.ip)
    return await service.reset_password(db, data.token, data.password)


async def change_password(
    db: AsyncSession, ctx: RequestContext, principal: Principal, data: PasswordChange
) -> User:
    """Every session is signed out (the current one too); returns the user, for a door that
    opens a new session. Wrong current passwords also count towards a lockout."""
    await ctx.spend(PASSWORD_CHANGE, str(principal.id))
    await service.change_password(
        db, ctx.settings, principal, data.current_password, data.new_password
    )
    return await service.get_user(db, principal.id)


# ---------------------------------------------------------------- two-factor authentication


async def begin_two_factor_setup(db: AsyncSession, principal: Principal) -> TotpSetup:
    return await service.begin_totp_setup(db, principal)


async def enable_two_factor(
    db: AsyncSession, ctx: RequestContext, principal: Principal, code: str
) -> list[str]:
    """Returns the ten backup codes, shown once."""
    await ctx.spend(TWO_FACTOR, str(principal.id))
    return await service.enable_totp(db, ctx.settings, principal, code)


async def disable_two_factor(
    db: AsyncSession, ctx: RequestContext, principal: Principal, password: str, code: str
) -> None:
    await ctx.spend(TWO_FACTOR, str(principal.id))
    await service.disable_totp(db, ctx.settings, principal, password, code)


async def regenerate_backup_codes(
    db: AsyncSession, ctx: RequestContext, principal: Principal, code: str
) -> list[str]:
    await ctx.spend(TWO_FACTOR, str(principal.id))
    return await service.regenerate_backup_codes(db, ctx.settings, principal, code)
