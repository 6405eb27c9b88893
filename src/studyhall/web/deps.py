"""Dependencies of the page routes: their transaction and who is looking at the page.

Pages use the API's session dependency (core.deps.DbSession): one transaction per request,
committed before the response is sent, so a browser following the redirect after a sign-in
always finds the new session in the database.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import actions, service
from studyhall.accounts.dependencies import SESSION_COOKIE
from studyhall.accounts.service import Principal
from studyhall.core.db import AFTER_COMMIT_KEY
from studyhall.core.deps import Context, DbSession, request_session
from studyhall.core.errors import Unauthorized

VIEWER_STATE = "viewer"


class LoginRequired(Exception):
    """Raised by `SignedIn`; the page route answers with a redirect to /login?next=…."""


PageDb = DbSession


async def abandon(db: AsyncSession) -> None:
    """Undo the request's writes after a refused action, as if it had raised."""
    db.info.pop(AFTER_COMMIT_KEY, None)
    await db.rollback()


async def abandon_request_changes(request: Request) -> None:
    db = request_session(request)
    if db is not None:
        await abandon(db)


async def get_viewer(request: Request, db: PageDb, ctx: Context) -> Principal | None:
    """The signed-in user of the browser session, or None (an ended session is no error).

    A signed-in user's pages spend the same per-user budget as their API calls."""
    setattr(request.state, VIEWER_STATE, None)
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    try:
        principal = await service.principal_from_web_secret(db, secret)
    except Unauthorized:
        return None
    request.state.user_id = str(principal.id)
    setattr(request.state, VIEWER_STATE, principal)
    await actions.count_user_request(ctx, principal)
    return principal


Viewer = Annotated[Principal | None, Depends(get_viewer)]


async def require_viewer(viewer: Viewer) -> Principal:
    if viewer is None:
        raise LoginRequired
    return viewer


SignedIn = Annotated[Principal, Depends(require_viewer)]
