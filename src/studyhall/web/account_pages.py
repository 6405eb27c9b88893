"""The security page: sessions, two-factor authentication, backup codes and the password."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from studyhall.accounts import actions, service
from studyhall.accounts.schemas import PasswordChange, TotpCode, TotpDisable
from studyhall.accounts.service import Principal
from studyhall.core.deps import AppSettings, Context
from studyhall.core.errors import StudyhallError
from studyhall.web.deps import PageDb, SignedIn, abandon
from studyhall.web.forms import FormInvalid, FormState, check_confirmation, parse_form
from studyhall.web.rendering import is_htmx, render
from studyhall.web.routing import page_router, redirect
from studyhall.web.security import clear_session_cookie, set_session_cookie

router = page_router()

FormField = Annotated[str, Form()]
SECURITY_PAGE = "/account/security"
SECURITY_TEMPLATE = "account/security.html"
# The security page's forms, each with its own field ids.
FORM_NAMES = ("enable", "disable", "regenerate", "password")
CODE_MESSAGES = {"code": "Enter the 6-digit code from your authenticator app."}
DISABLE_MESSAGES = {
    "password": "Enter your password.",
    "code": "Enter the 6-digit code from your app or a backup code.",
}
PASSWORD_MESSAGES = {
    "current_password": "Enter your current password.",
    "new_password": "Enter a new password.",
}


def _forms(**given: FormState) -> dict[str, FormState]:
    return {name: given.get(name) or FormState.of(id_prefix=f"{name}-") for name in FORM_NAMES}


async def _security_page(
    request: Request,
    db: AsyncSession,
    viewer: Principal,
    failed: Mapping[str, FormState] | None = None,
) -> Response:
    """The whole page; `failed` holds the one form being shown again with its errors."""
    two_factor_on = viewer.user.totp_enabled
    context: dict[str, Any] = {
        "active": "security",
        "sessions": await actions.list_sessions(db, viewer),
        "setup": None if two_factor_on else await service.pending_totp_setup(db, viewer),
        "backup_codes_left": await service.remaining_backup_codes(db, viewer.id)
        if two_factor_on
        else 0,
        "states": _forms(**(failed or {})),
        "page_has_errors": bool(failed),
    }
    status = max((form.status for form in (failed or {}).values()), default=200)
    return render(request, SECURITY_TEMPLATE, context, status_code=status)


async def _refused(
    request: Request,
    db: AsyncSession,
    viewer: Principal,
    name: str,
    error: StudyhallError | FormInvalid,
    fields: Mapping[str, str] | None = None,
) -> Response:
    """Undo the request's writes and show the security page with form `name`'s errors."""
    form = FormState.of(id_prefix=f"{name}-")
    if isinstance(error, FormInvalid):
        form.invalid(error.errors)
    else:
        await abandon(db)
        form.fail(error, fields)
    return await _security_page(request, db, viewer, {name: form})


def _backup_codes_page(request: Request, codes: list[str], fresh_setup: bool) -> Response:
    context = {"active": "security", "codes": codes, "fresh_setup": fresh_setup}
    return render(request, "account/backup_codes.html", context)


@router.get(SECURITY_PAGE)
async def security_page(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    return await _security_page(request, db, viewer)


# ---------------------------------------------------------------- sessions


async def _sessions_changed(
    request: Request, db: AsyncSession, viewer: Principal, notice: str, message: str
) -> Response:
    """HTMX swaps the refreshed list in place; without JavaScript the page reloads."""
    if not is_htmx(request):
        return redirect(f"{SECURITY_PAGE}?notice={notice}#sessions")
    sessions = await actions.list_sessions(db, viewer)
    context = {"sessions": sessions, "sessions_message": message}
    return render(request, "account/_sessions.html", context)


@router.post(SECURITY_PAGE + "/sessions/{session_id}/revoke")
async def revoke_session(
    session_id: uuid.UUID,
    request: Request,
    db: PageDb,
    settings: AppSettings,
    viewer: SignedIn,
) -> Response:
    await actions.revoke_session(db, viewer, session_id)
    if session_id == viewer.session_id:
        response = redirect("/login?notice=signed-out")
        clear_session_cookie(response, settings)
        return response
    return await _sessions_changed(
        request, db, viewer, "session-revoked", "That session was signed out."
    )


@router.post(SECURITY_PAGE + "/sessions/revoke-others")
async def revoke_other_sessions(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    count = await actions.revoke_sessions(db, viewer, keep_current=True)
    message = f"Signed out {count} other session{'' if count == 1 else 's'}."
    return await _sessions_changed(request, db, viewer, "signed-in-elsewhere-out", message)


# ---------------------------------------------------------------- two-factor authentication


@router.post(SECURITY_PAGE + "/2fa/setup")
async def begin_two_factor_setup(db: PageDb, viewer: SignedIn) -> Response:
    # The page shows the pending key and QR code until a code confirms it.
    await actions.begin_two_factor_setup(db, viewer)
    return redirect(SECURITY_PAGE + "#two-factor")


@router.post(SECURITY_PAGE + "/2fa/enable")
async def enable_two_factor(
    request: Request,
    db: PageDb,
    ctx: Context,
    viewer: SignedIn,
    code: FormField = "",
) -> Response:
    try:
        data = parse_form(TotpCode, {"code": code}, CODE_MESSAGES)
        codes = await actions.enable_two_factor(db, ctx, viewer, data.code)
    except (FormInvalid, StudyhallError) as exc:
        return await _refused(request, db, viewer, "enable", exc, {"invalid_code": "code"})
    return _backup_codes_page(request, codes, fresh_setup=True)


@router.post(SECURITY_PAGE + "/2fa/backup-codes")
async def regenerate_backup_codes(
    request: Request,
    db: PageDb,
    ctx: Context,
    viewer: SignedIn,
    code: FormField = "",
) -> Response:
    try:
        data = parse_form(TotpCode, {"code": code}, CODE_MESSAGES)
        codes = await actions.regenerate_backup_codes(db, ctx, viewer, data.code)
    except (FormInvalid, StudyhallError) as exc:
        return await _refused(request, db, viewer, "regenerate", exc, {"invalid_code": "code"})
    return _backup_codes_page(request, codes, fresh_setup=False)


@router.post(SECURITY_PAGE + "/2fa/disable")
async def disable_two_factor(
    request: Request,
    db: PageDb,
    ctx: Context,
    viewer: SignedIn,
    password: FormField = "",
    code: FormField = "",
) -> Response:
    try:
        data = parse_form(TotpDisable, {"password": password, "code": code}, DISABLE_MESSAGES)
        await actions.disable_two_factor(db, ctx, viewer, data.password, data.code)
    except (FormInvalid, StudyhallError) as exc:
        return await _refused(request, db, viewer, "disable", exc)
    return redirect(f"{SECURITY_PAGE}?notice=2fa-disabled#two-factor")


# ---------------------------------------------------------------- password


@router.post(SECURITY_PAGE + "/password")
async def change_password(
    request: Request,
    db: PageDb,
    ctx: Context,
    viewer: SignedIn,
    current_password: FormField = "",
    new_password: FormField = "",
    password_confirm: FormField = "",
) -> Response:
    fields = {"current_password": current_password, "new_password": new_password}
    try:
        data = parse_form(PasswordChange, fields, PASSWORD_MESSAGES)
        check_confirmation(new_password, password_confirm)
        user = await actions.change_password(db, ctx, viewer, data)
    except (FormInvalid, StudyhallError) as exc:
        errors = {"invalid_credentials": "current_password", "weak_password": "new_password"}
        return await _refused(request, db, viewer, "password", exc, errors)
    # Changing the password signed out every session; this browser gets a new one.
    secret = await actions.open_web_session(db, ctx, user)
    response = redirect(f"{SECURITY_PAGE}?notice=password-changed")
    set_session_cookie(response, ctx.settings, secret)
    return response
