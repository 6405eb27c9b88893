"""Browser-session plumbing: cookies, the double-submit CSRF token and safe redirects.

The CSRF token is random and signed with the installation secret, so a cookie planted by a
sibling subdomain is refused too. It lives in an HttpOnly cookie and is echoed by every form
(hidden `csrf_token` field) and by HTMX (the X-CSRF-Token header, read from a meta tag).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from studyhall.accounts.dependencies import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from studyhall.core.errors import Forbidden
from studyhall.core.security import csrf_token_accepted, is_genuine_csrf_token, issue_csrf_token
from studyhall.core.settings import Settings

CSRF_FIELD = "csrf_token"
_NEW_CSRF_STATE = "new_csrf_token"
CSRF_COOKIE_SECONDS = 60 * 60 * 24 * 30


def page_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---------------------------------------------------------------- CSRF


def csrf_token_for(request: Request) -> str:
    """The token to render: the cookie's when genuine, else one issued for this response."""
    secret_key = page_settings(request).effective_secret_key
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if cookie and is_genuine_csrf_token(secret_key, cookie):
        return cookie
    issued: str | None = getattr(request.state, _NEW_CSRF_STATE, None)
    if issued is None:
        issued = issue_csrf_token(secret_key)
        setattr(request.state, _NEW_CSRF_STATE, issued)
    return issued


def store_issued_csrf_token(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request had to issue a token."""
    issued: str | None = getattr(request.state, _NEW_CSRF_STATE, None)
    if issued is not None:
        set_csrf_cookie(response, page_settings(request), issued)


def set_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=CSRF_COOKIE_SECONDS,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def rotate_csrf_cookie(response: Response, settings: Settings) -> None:
    """A fresh token at sign-in, so a token known before it is useless after."""
    set_csrf_cookie(response, settings, issue_csrf_token(settings.effective_secret_key))


async def require_csrf(request: Request) -> None:
    """Refuse a state-changing request whose form field or header does not match the cookie."""
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    secret_key = page_settings(request).effective_secret_key
    if not csrf_token_accepted(secret_key, request.cookies.get(CSRF_COOKIE), submitted):
        raise Forbidden(
            "This form has expired or was sent from another site. "
            "Go back, reload the page and try again.",
            code="csrf_failed",
        )


# ---------------------------------------------------------------- session cookie


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.refresh_token_days * 24 * 60 * 60,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )


# ---------------------------------------------------------------- redirects


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
