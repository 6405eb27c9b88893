"""Authorization as reusable dependencies: CurrentUser, AdminUser, TeacherUser, require_roles()."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from studyhall.accounts import actions, service
from studyhall.accounts.models import Role
from studyhall.accounts.service import Principal
from studyhall.core.deps import AppSettings, Context, DbSession
from studyhall.core.errors import Forbidden, Unauthorized
from studyhall.core.openapi import declares_problems
from studyhall.core.security import csrf_token_accepted

SESSION_COOKIE = "sh_session"
CSRF_COOKIE = "sh_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False)


@declares_problems(401, 403, 429)  # no or bad credentials; CSRF; the per-user API limit
async def get_principal(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The signed-in user, from a Bearer access token or the browser session cookie.

    Cookie-authenticated writes must carry the CSRF token (header or form field checked by
    the page routes); Bearer requests are not exposed to CSRF.
    """
    if credentials is not None:
        principal = await service.principal_from_access_token(db, settings, credentials.credentials)
    elif secret := request.cookies.get(SESSION_COOKIE):
        principal = await service.principal_from_web_secret(db, secret)
        if (
            request.method not in SAFE_METHODS
            and request.url.path.startswith("/api/")
            and not csrf_token_accepted(
                settings.effective_secret_key,
                request.cookies.get(CSRF_COOKIE),
                request.headers.get(CSRF_HEADER),
            )
        ):
            raise Forbidden("Missing or wrong CSRF token.", code="csrf_failed")
    else:
        raise Unauthorized("Sign in to continue.", code="not_authenticated")
    request.state.user_id = str(principal.id)
    await actions.count_user_request(ctx, principal)
    return principal


async def get_optional_principal(
    request: Request, db: DbSession, settings: AppSettings
) -> Principal | None:
    """For pages that look different when signed in; never raises for a missing session."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    try:
        principal = await service.principal_from_web_secret(db, secret)
    except Unauthorized:
        return None
    request.state.user_id = str(principal.id)
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]
OptionalUser = Annotated[Principal | None, Depends(get_optional_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through users holding any of `roles` (admins always pass)."""

    @declares_problems(403)
    async def check(principal: CurrentUser) -> Principal:
        return actions.require_roles(principal, *roles)

    return check


AdminUser = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
TeacherUser = Annotated[Principal, Depends(require_roles(Role.TEACHER))]
