"""Sign-up, email verification, sign-in (with its 2FA step), sign-out and password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.responses import Response

from studyhall.accounts import service
from studyhall.accounts.dependencies import SESSION_COOKIE
from studyhall.accounts.schemas import (
    EmailRequest,
    LoginRequest,
    PasswordResetConfirm,
    TwoFactorLoginRequest,
    UserCreate,
)
from studyhall.core.deps import AppSettings
from studyhall.core.errors import StudyhallError
from studyhall.core.ratelimit import enforce
from studyhall.core.settings import Settings
from studyhall.web.deps import PageDb, Viewer, abandon
from studyhall.web.forms import FormInvalid, FormState, check_confirmation, parse_form
from studyhall.web.rendering import render, render_form
from studyhall.web.routing import page_router, redirect
from studyhall.web.security import (
    clear_session_cookie,
    rotate_csrf_cookie,
    safe_next,
    set_session_cookie,
    user_agent,
    visitor_ip,
)

router = page_router()

FormField = Annotated[str, Form()]
EMAIL_MESSAGES = {"email": "Enter an email address like name@example.com."}
SIGNUP_MESSAGES = {
    **EMAIL_MESSAGES,
    "name": "Enter your name.",
    "password": "Enter a password.",
}
LOGIN_MESSAGES = {**EMAIL_MESSAGES, "password": "Enter your password."}
RESET_MESSAGES = {"password": "Enter a new password.", "token": "This link is incomplete."}
CODE_MESSAGES = {"code": "Enter the 6-digit code from your app or a backup code."}
# Domain error codes shown next to a field rather than above the form.
PASSWORD_ERRORS = {"weak_password": "password"}
CODE_ERRORS = {"invalid_code": "code"}


def _signed_in(settings: Settings, secret: str, target: str) -> Response:
    response = redirect(target)
    set_session_cookie(response, settings, secret)
    rotate_csrf_cookie(response, settings)
    return response


def _check_email_page(request: Request, heading: str, email: str) -> Response:
    """The same answer whether or not the address has an account."""
    return render(request, "auth/check_email.html", {"heading": heading, "email": email})


# ---------------------------------------------------------------- sign-up and verification


@router.get("/signup")
async def signup_page(request: Request, viewer: Viewer) -> Response:
    if viewer is not None:
        return redirect("/dashboard")
    return render(request, "auth/signup.html", {"form": FormState()})


@router.post("/signup")
async def signup(
    request: Request,
    db: PageDb,
    settings: AppSettings,
    name: FormField = "",
    email: FormField = "",
    password: FormField = "",
) -> Response:
    form = FormState.of({"name": name, "email": email})
    fields = {"name": name, "email": email, "password": password}
    try:
        data = parse_form(UserCreate, fields, SIGNUP_MESSAGES)
        await enforce(request, "register", settings.rate_limit_register, visitor_ip(request))
        # None for a taken address: answered like a new one, the owner is told by email.
        await service.register_user(db, settings, data.email, data.name, data.password)
    except FormInvalid as exc:
        return render_form(request, "auth/signup.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/signup.html", form.fail(exc, PASSWORD_ERRORS))
    return _check_email_page(request, "Check your email", data.email)


@router.get("/verify")
async def verify_page(request: Request, token: str = "") -> Response:
    """Shows a button that confirms; opening the link alone changes nothing, so mail
    scanners that fetch links cannot use the single-use token up."""
    context = {"verified": None, "token": token[:200], "form": FormState()}
    return render(request, "auth/verify.html", context)


@router.post("/verify")
async def confirm_verification(request: Request, db: PageDb, token: FormField = "") -> Response:
    try:
        await service.verify_email(db, token)
    except StudyhallError as exc:
        await abandon(db)
        context = {"verified": False, "problem": exc.detail, "form": FormState()}
        return render(request, "auth/verify.html", context, status_code=exc.status)
    return render(request, "auth/verify.html", {"verified": True, "form": FormState()})


@router.post("/verify/resend")
async def resend_verification(
    request: Request, db: PageDb, settings: AppSettings, email: FormField = ""
) -> Response:
    form = FormState.of({"email": email})
    context = {"verified": None}
    try:
        data = parse_form(EmailRequest, {"email": email}, EMAIL_MESSAGES)
        await enforce(request, "register", settings.rate_limit_register, visitor_ip(request))
        await service.resend_verification(db, settings, data.email)
    except FormInvalid as exc:
        return render_form(request, "auth/verify.html", form.invalid(exc.errors), context)
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/verify.html", form.fail(exc), context)
    return _check_email_page(request, "Verification email sent", data.email)


# ---------------------------------------------------------------- sign-in


@router.get("/login")
async def login_page(request: Request, viewer: Viewer, next: str = "") -> Response:
    target = safe_next(next)
    if viewer is not None:
        return redirect(target)
    return render(request, "auth/login.html", {"form": FormState.of({"next": target})})


@router.post("/login")
async def login(
    request: Request,
    db: PageDb,
    settings: AppSettings,
    email: FormField = "",
    password: FormField = "",
    next: FormField = "",
) -> Response:
    target = safe_next(next)
    form = FormState.of({"email": email, "next": target})
    ip = visitor_ip(request)
    try:
        data = parse_form(LoginRequest, {"email": email, "password": password}, LOGIN_MESSAGES)
        await enforce(request, "login_ip", settings.rate_limit_login_ip, ip)
        account = service.normalize_email(data.email)
        await enforce(request, "login_account", settings.rate_limit_login_account, account)
        outcome = await service.authenticate(db, settings, data.email, data.password, ip)
    except FormInvalid as exc:
        return render_form(request, "auth/login.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/login.html", form.fail(exc))
    if outcome.challenge:
        step = FormState.of({"challenge": outcome.challenge, "next": target})
        return render(request, "auth/login_2fa.html", {"form": step})
    secret = await service.start_web_session(db, settings, outcome.user, user_agent(request), ip)
    return _signed_in(settings, secret, target)


@router.post("/login/2fa")
async def login_two_factor(
    request: Request,
    db: PageDb,
    settings: AppSettings,
    challenge: FormField = "",
    code: FormField = "",
    next: FormField = "",
) -> Response:
    target = safe_next(next)
    if not challenge:
        return redirect("/login")
    form = FormState.of({"challenge": challenge, "next": target})
    ip = visitor_ip(request)
    try:
        data = parse_form(
            TwoFactorLoginRequest, {"challenge": challenge, "code": code}, CODE_MESSAGES
        )
        await enforce(request, "2fa", settings.rate_limit_2fa, ip)
        user = await service.complete_two_factor(db, settings, data.challenge, data.code, ip)
    except FormInvalid as exc:
        return render_form(request, "auth/login_2fa.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        if exc.code == "invalid_challenge":
            # The step expired or was used: back to the password, with the reason.
            restart = FormState.of({"next": target}).fail(exc)
            return render_form(request, "auth/login.html", restart)
        return render_form(request, "auth/login_2fa.html", form.fail(exc, CODE_ERRORS))
    secret = await service.start_web_session(db, settings, user, user_agent(request), ip)
    return _signed_in(settings, secret, target)


@router.post("/logout")
async def logout(request: Request, db: PageDb, settings: AppSettings) -> Response:
    if secret := request.cookies.get(SESSION_COOKIE):
        await service.end_web_session(db, secret)
    response = redirect("/?notice=signed-out")
    clear_session_cookie(response, settings)
    return response


# ---------------------------------------------------------------- password reset


@router.get("/forgot-password")
async def forgot_password_page(request: Request) -> Response:
    return render(request, "auth/forgot_password.html", {"form": FormState()})


@router.post("/forgot-password")
async def forgot_password(
    request: Request, db: PageDb, settings: AppSettings, email: FormField = ""
) -> Response:
    form = FormState.of({"email": email})
    try:
        data = parse_form(EmailRequest, {"email": email}, EMAIL_MESSAGES)
        ip = visitor_ip(request)
        await enforce(request, "password_reset", settings.rate_limit_password_reset, ip)
        await service.request_password_reset(db, settings, data.email)
    except FormInvalid as exc:
        return render_form(request, "auth/forgot_password.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/forgot_password.html", form.fail(exc))
    return _check_email_page(request, "Check your email", data.email)


@router.get("/reset-password")
async def reset_password_page(request: Request, token: str = "") -> Response:
    return render(request, "auth/reset_password.html", {"form": FormState.of({"token": token})})


@router.post("/reset-password")
async def reset_password(
    request: Request,
    db: PageDb,
    settings: AppSettings,
    token: FormField = "",
    password: FormField = "",
    password_confirm: FormField = "",
) -> Response:
    form = FormState.of({"token": token})
    try:
        data = parse_form(
            PasswordResetConfirm, {"token": token, "password": password}, RESET_MESSAGES
        )
        check_confirmation(password, password_confirm)
        ip = visitor_ip(request)
        await enforce(request, "password_reset", settings.rate_limit_password_reset, ip)
        await service.reset_password(db, data.token, data.password)
    except FormInvalid as exc:
        return render_form(request, "auth/reset_password.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/reset_password.html", form.fail(exc, PASSWORD_ERRORS))
    # Every session was signed out, this browser's too.
    response = redirect("/login?notice=password-reset")
    clear_session_cookie(response, settings)
    return response
