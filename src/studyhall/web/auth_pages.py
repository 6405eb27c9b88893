"""Sign-up, email verification, sign-in (with its 2FA step), sign-out and password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.responses import Response

from studyhall.accounts import actions
from studyhall.accounts.schemas import (
    EmailRequest,
    LoginRequest,
    PasswordResetConfirm,
    TwoFactorLoginRequest,
    UserCreate,
)
from studyhall.core.deps import AppSettings, Context
from studyhall.core.errors import StudyhallError
from studyhall.core.settings import Settings
from studyhall.web.deps import PageDb, SignedIn, Viewer, abandon
from studyhall.web.forms import FormInvalid, FormState, check_confirmation, parse_form
from studyhall.web.rendering import render, render_form
from studyhall.web.routing import page_router, redirect
from studyhall.web.security import (
    clear_session_cookie,
    rotate_csrf_cookie,
    safe_next,
    set_session_cookie,
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
    ctx: Context,
    name: FormField = "",
    email: FormField = "",
    password: FormField = "",
) -> Response:
    form = FormState.of({"name": name, "email": email})
    fields = {"name": name, "email": email, "password": password}
    try:
        data = parse_form(UserCreate, fields, SIGNUP_MESSAGES)
        await actions.register(db, ctx, data)
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
        await actions.verify_email(db, token)
    except StudyhallError as exc:
        await abandon(db)
        context = {"verified": False, "problem": exc.detail, "form": FormState()}
        return render(request, "auth/verify.html", context, status_code=exc.status)
    return render(request, "auth/verify.html", {"verified": True, "form": FormState()})


@router.post("/verify/resend")
async def resend_verification(
    request: Request, db: PageDb, ctx: Context, email: FormField = ""
) -> Response:
    form = FormState.of({"email": email})
    context = {"verified": None}
    try:
        data = parse_form(EmailRequest, {"email": email}, EMAIL_MESSAGES)
        await actions.resend_verification(db, ctx, data.email)
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
    ctx: Context,
    email: FormField = "",
    password: FormField = "",
    next: FormField = "",
) -> Response:
    target = safe_next(next)
    form = FormState.of({"email": email, "next": target})
    try:
        data = parse_form(LoginRequest, {"email": email, "password": password}, LOGIN_MESSAGES)
        outcome = await actions.sign_in(db, ctx, data)
    except FormInvalid as exc:
        return render_form(request, "auth/login.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/login.html", form.fail(exc))
    if outcome.challenge:
        step = FormState.of({"challenge": outcome.challenge, "next": target})
        return render(request, "auth/login_2fa.html", {"form": step})
    secret = await actions.open_web_session(db, ctx, outcome.user)
    return _signed_in(ctx.settings, secret, target)


@router.post("/login/2fa")
async def login_two_factor(
    request: Request,
    db: PageDb,
    ctx: Context,
    challenge: FormField = "",
    code: FormField = "",
    next: FormField = "",
) -> Response:
    target = safe_next(next)
    if not challenge:
        return redirect("/login")
    form = FormState.of({"challenge": challenge, "next": target})
    try:
        data = parse_form(
            TwoFactorLoginRequest, {"challenge": challenge, "code": code}, CODE_MESSAGES
        )
        user = await actions.complete_two_factor(db, ctx, data)
    except FormInvalid as exc:
        return render_form(request, "auth/login_2fa.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        if exc.code == "invalid_challenge":
            # The step expired or was used: back to the password, with the reason.
            restart = FormState.of({"next": target}).fail(exc)
            return render_form(request, "auth/login.html", restart)
        return render_form(request, "auth/login_2fa.html", form.fail(exc, CODE_ERRORS))
    secret = await actions.open_web_session(db, ctx, user)
    return _signed_in(ctx.settings, secret, target)


@router.post("/logout")
async def logout(db: PageDb, settings: AppSettings, viewer: SignedIn) -> Response:
    await actions.sign_out(db, viewer)
    response = redirect("/?notice=signed-out")
    clear_session_cookie(response, settings)
    return response


# ---------------------------------------------------------------- password reset


@router.get("/forgot-password")
async def forgot_password_page(request: Request) -> Response:
    return render(request, "auth/forgot_password.html", {"form": FormState()})


@router.post("/forgot-password")
async def forgot_password(
    request: Request, db: PageDb, ctx: Context, email: FormField = ""
) -> Response:
    form = FormState.of({"email": email})
    try:
        data = parse_form(EmailRequest, {"email": email}, EMAIL_MESSAGES)
        await actions.request_password_reset(db, ctx, data.email)
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
    ctx: Context,
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
        await actions.reset_password(db, ctx, data)
    except FormInvalid as exc:
        return render_form(request, "auth/reset_password.html", form.invalid(exc.errors))
    except StudyhallError as exc:
        await abandon(db)
        return render_form(request, "auth/reset_password.html", form.fail(exc, PASSWORD_ERRORS))
    # Every session was signed out, this browser's too.
    response = redirect("/login?notice=password-reset")
    clear_session_cookie(response, ctx.settings)
    return response
