"""JSON API of the accounts module, under /api/v1."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts import actions, service
from studyhall.accounts.dependencies import AdminUser, CurrentUser
from studyhall.accounts.models import Role
from studyhall.accounts.schemas import (
    ActiveUpdate,
    BackupCodes,
    EmailRequest,
    LoginRequest,
    LogoutRequest,
    Message,
    PasswordChange,
    PasswordResetConfirm,
    RefreshRequest,
    RolesUpdate,
    SessionRead,
    TokenPair,
    TotpCode,
    TotpDisable,
    TotpSetup,
    TwoFactorChallenge,
    TwoFactorLoginRequest,
    UserCreate,
    UserRead,
    VerifyEmailRequest,
)
from studyhall.core.deps import Context, DbSession
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination, slice_page

auth_router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["me"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

CHECK_EMAIL = "If the address can receive mail, a message is on its way."


@auth_router.post("/register", status_code=status.HTTP_202_ACCEPTED, response_model=Message)
async def register(body: UserCreate, db: DbSession, ctx: Context) -> Message:
    await actions.register(db, ctx, body)
    return Message(detail="Check your email for a link to verify your address.")


@auth_router.post("/verify-email", response_model=Message, responses=problem_responses(400))
async def verify_email(body: VerifyEmailRequest, db: DbSession) -> Message:
    await actions.verify_email(db, body.token)
    return Message(detail="Your email address is verified; you can sign in.")


@auth_router.post(
    "/resend-verification", status_code=status.HTTP_202_ACCEPTED, response_model=Message
)
async def resend_verification(body: EmailRequest, db: DbSession, ctx: Context) -> Message:
    await actions.resend_verification(db, ctx, body.email)
    return Message(detail=CHECK_EMAIL)


@auth_router.post(
    "/login",
    response_model=TokenPair | TwoFactorChallenge,
    responses=problem_responses(401, 403, 423),
)
async def login(body: LoginRequest, db: DbSession, ctx: Context) -> TokenPair | TwoFactorChallenge:
    outcome = await actions.sign_in(db, ctx, body)
    if outcome.challenge:
        return TwoFactorChallenge(
            challenge=outcome.challenge, expires_in=ctx.settings.twofa_challenge_minutes * 60
        )
    return await actions.open_api_session(db, ctx, outcome.user)


@auth_router.post("/login/2fa", response_model=TokenPair, responses=problem_responses(401, 423))
async def login_two_factor(body: TwoFactorLoginRequest, db: DbSession, ctx: Context) -> TokenPair:
    user = await actions.complete_two_factor(db, ctx, body)
    return await actions.open_api_session(db, ctx, user)


@auth_router.post("/refresh", response_model=TokenPair, responses=problem_responses(401))
async def refresh(body: RefreshRequest, db: DbSession, ctx: Context) -> TokenPair:
    return await actions.refresh(db, ctx, body.refresh_token)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    principal: CurrentUser, db: DbSession, body: LogoutRequest | None = None
) -> Response:
    await actions.sign_out(db, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/password-reset/request", status_code=status.HTTP_202_ACCEPTED, response_model=Message
)
async def request_password_reset(body: EmailRequest, db: DbSession, ctx: Context) -> Message:
    await actions.request_password_reset(db, ctx, body.email)
    return Message(detail=CHECK_EMAIL)


@auth_router.post(
    "/password-reset/confirm", response_model=Message, responses=problem_responses(400)
)
async def confirm_password_reset(
    body: PasswordResetConfirm, db: DbSession, ctx: Context
) -> Message:
    await actions.reset_password(db, ctx, body)
    return Message(detail="Your password was changed and every session was signed out.")


@me_router.get("", response_model=UserRead)
async def read_me(principal: CurrentUser) -> UserRead:
    return principal.user


@me_router.post(
    "/password", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(400, 423)
)
async def change_password(
    body: PasswordChange, principal: CurrentUser, db: DbSession, ctx: Context
) -> Response:
    await actions.change_password(db, ctx, principal, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get("/sessions", response_model=Page[SessionRead])
async def list_my_sessions(
    principal: CurrentUser, db: DbSession, page: Pagination
) -> Page[SessionRead]:
    return slice_page(await actions.list_sessions(db, principal), page)


@me_router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_my_session(
    session_id: uuid.UUID, principal: CurrentUser, db: DbSession
) -> Response:
    await actions.revoke_session(db, principal, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_my_sessions(
    principal: CurrentUser,
    db: DbSession,
    keep_current: Annotated[bool, Query(description="keep the session making this call")] = False,
) -> Response:
    await actions.revoke_sessions(db, principal, keep_current)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.post("/2fa/setup", response_model=TotpSetup, responses=problem_responses(409))
async def setup_two_factor(principal: CurrentUser, db: DbSession) -> TotpSetup:
    return await actions.begin_two_factor_setup(db, principal)


@me_router.post("/2fa/enable", response_model=BackupCodes, responses=problem_responses(400, 409))
async def enable_two_factor(
    body: TotpCode, principal: CurrentUser, db: DbSession, ctx: Context
) -> BackupCodes:
    codes = await actions.enable_two_factor(db, ctx, principal, body.code)
    return BackupCodes(backup_codes=codes)


@me_router.post(
    "/2fa/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 409),
)
async def disable_two_factor(
    body: TotpDisable, principal: CurrentUser, db: DbSession, ctx: Context
) -> Response:
    await actions.disable_two_factor(db, ctx, principal, body.password, body.code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.post(
    "/2fa/backup-codes", response_model=BackupCodes, responses=problem_responses(400, 409)
)
async def regenerate_backup_codes(
    body: TotpCode, principal: CurrentUser, db: DbSession, ctx: Context
) -> BackupCodes:
    codes = await actions.regenerate_backup_codes(db, ctx, principal, body.code)
    return BackupCodes(backup_codes=codes)


@admin_router.get("/users", response_model=Page[UserRead])
async def list_users(
    admin: AdminUser,
    db: DbSession,
    page: Pagination,
    q: Annotated[str, Query(max_length=200, description="text in email or name")] = "",
    role: Role | None = None,
) -> Page[UserRead]:
    return await service.list_users(db, page, q.strip(), role)


@admin_router.put(
    "/users/{user_id}/roles", response_model=UserRead, responses=problem_responses(409)
)
async def set_user_roles(
    user_id: uuid.UUID, body: RolesUpdate, admin: AdminUser, db: DbSession
) -> UserRead:
    return await service.set_roles(db, admin, user_id, body.roles)


@admin_router.patch("/users/{user_id}", response_model=UserRead, responses=problem_responses(409))
async def set_user_active(
    user_id: uuid.UUID, body: ActiveUpdate, admin: AdminUser, db: DbSession
) -> UserRead:
    return await service.set_active(db, admin, user_id, body.is_active)


routers = (auth_router, me_router, admin_router)
