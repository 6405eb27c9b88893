"""JSON API of the accounts module, under /api/v1."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from studyhall.accounts import service
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
from studyhall.core.deps import AppSettings, DbSession
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination, slice_page
from studyhall.core.ratelimit import client_ip, enforce
from studyhall.core.settings import Settings

auth_router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["me"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

CHECK_EMAIL = "If the address can receive mail, a message is on its way."


def _ip(request: Request, settings: Settings) -> str:
    return client_ip(request, settings.trusted_proxy)


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


@auth_router.post("/register", status_code=status.HTTP_202_ACCEPTED, response_model=Message)
async def register(
    body: UserCreate, request: Request, db: DbSession, settings: AppSettings
) -> Message:
    await enforce(request, "register", settings.rate_limit_register, _ip(request, settings))
    await service.register_user(db, settings, body.email, body.name, body.password)
    return Message(detail="Check your email for a link to verify your address.")


@auth_router.post("/verify-email", response_model=Message, responses=problem_responses(400))
async def verify_email(body: VerifyEmailRequest, db: DbSession) -> Message:
    await service.verify_email(db, body.token)
    return Message(detail="Your email address is verified; you can sign in.")


@auth_router.post(
    "/resend-verification", status_code=status.HTTP_202_ACCEPTED, response_model=Message
)
async def resend_verification(
    body: EmailRequest, request: Request, db: DbSession, settings: AppSettings
) -> Message:
    await enforce(request, "register", settings.rate_limit_register, _ip(request, settings))
    await service.resend_verification(db, settings, body.email)
    return Message(detail=CHECK_EMAIL)


@auth_router.post(
    "/login",
    response_model=TokenPair | TwoFactorChallenge,
    responses=problem_responses(401, 403, 423),
)
async def login(
    body: LoginRequest, request: Request, db: DbSession, settings: AppSettings
) -> TokenPair | TwoFactorChallenge:
    ip = _ip(request, settings)
    await enforce(request, "login_ip", settings.rate_limit_login_ip, ip)
    await enforce(
        request,
        "login_account",
        settings.rate_limit_login_account,
        service.normalize_email(body.email),
    )
    outcome = await service.authenticate(db, settings, body.email, body.password, ip)
    if outcome.challenge:
        return TwoFactorChallenge(
            challenge=outcome.challenge, expires_in=settings.twofa_challenge_minutes * 60
        )
    return await service.start_api_session(db, settings, outcome.user, _agent(request), ip)


@auth_router.post("/login/2fa", response_model=TokenPair, responses=problem_responses(401, 423))
async def login_two_factor(
    body: TwoFactorLoginRequest, request: Request, db: DbSession, settings: AppSettings
) -> TokenPair:
    ip = _ip(request, settings)
    await enforce(request, "2fa", settings.rate_limit_2fa, ip)
    user = await service.complete_two_factor(db, settings, body.challenge, body.code, ip)
    return await service.start_api_session(db, settings, user, _agent(request), ip)


@auth_router.post("/refresh", response_model=TokenPair, responses=problem_responses(401))
async def refresh(
    body: RefreshRequest, request: Request, db: DbSession, settings: AppSettings
) -> TokenPair:
    return await service.rotate_refresh_token(
        db, settings, body.refresh_token, _agent(request), _ip(request, settings)
    )


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    principal: CurrentUser, db: DbSession, body: LogoutRequest | None = None
) -> Response:
    await service.logout_api(db, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/password-reset/request", status_code=status.HTTP_202_ACCEPTED, response_model=Message
)
async def request_password_reset(
    body: EmailRequest, request: Request, db: DbSession, settings: AppSettings
) -> Message:
    await enforce(
        request, "password_reset", settings.rate_limit_password_reset, _ip(request, settings)
    )
    await service.request_password_reset(db, settings, body.email)
    return Message(detail=CHECK_EMAIL)


@auth_router.post(
    "/password-reset/confirm", response_model=Message, responses=problem_responses(400)
)
async def confirm_password_reset(
    body: PasswordResetConfirm, request: Request, db: DbSession, settings: AppSettings
) -> Message:
    await enforce(
        request, "password_reset", settings.rate_limit_password_reset, _ip(request, settings)
    )
    await service.reset_password(db, body.token, body.password)
    return Message(detail="Your password was changed and every session was signed out.")


@me_router.get("", response_model=UserRead)
async def read_me(principal: CurrentUser) -> UserRead:
    return principal.user


@me_router.post(
    "/password", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(400)
)
async def change_password(body: PasswordChange, principal: CurrentUser, db: DbSession) -> Response:
    await service.change_password(db, principal, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get("/sessions", response_model=Page[SessionRead])
async def list_my_sessions(
    principal: CurrentUser, db: DbSession, page: Pagination
) -> Page[SessionRead]:
    return slice_page(await service.list_sessions(db, principal.id, principal.session_id), page)


@me_router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_my_session(
    session_id: uuid.UUID, principal: CurrentUser, db: DbSession
) -> Response:
    await service.revoke_session(db, principal.id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_my_sessions(
    principal: CurrentUser,
    db: DbSession,
    keep_current: Annotated[bool, Query(description="keep the session making this call")] = False,
) -> Response:
    keep = principal.session_id if keep_current else None
    await service.revoke_all_sessions(db, principal.id, "signed_out_everywhere", keep=keep)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.post("/2fa/setup", response_model=TotpSetup, responses=problem_responses(409))
async def setup_two_factor(principal: CurrentUser, db: DbSession) -> TotpSetup:
    return await service.begin_totp_setup(db, principal)


@me_router.post("/2fa/enable", response_model=BackupCodes, responses=problem_responses(400, 409))
async def enable_two_factor(
    body: TotpCode, request: Request, principal: CurrentUser, db: DbSession, settings: AppSettings
) -> BackupCodes:
    await enforce(request, "2fa", settings.rate_limit_2fa, str(principal.id))
    return BackupCodes(backup_codes=await service.enable_totp(db, settings, principal, body.code))


@me_router.post(
    "/2fa/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 409),
)
async def disable_two_factor(
    body: TotpDisable,
    request: Request,
    principal: CurrentUser,
    db: DbSession,
    settings: AppSettings,
) -> Response:
    await enforce(request, "2fa", settings.rate_limit_2fa, str(principal.id))
    await service.disable_totp(db, settings, principal, body.password, body.code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.post(
    "/2fa/backup-codes", response_model=BackupCodes, responses=problem_responses(400, 409)
)
async def regenerate_backup_codes(
    body: TotpCode, request: Request, principal: CurrentUser, db: DbSession, settings: AppSettings
) -> BackupCodes:
    await enforce(request, "2fa", settings.rate_limit_2fa, str(principal.id))
    codes = await service.regenerate_backup_codes(db, settings, principal, body.code)
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
