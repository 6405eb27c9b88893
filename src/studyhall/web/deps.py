"""Dependencies of the page routes: their transaction and who is looking at the page.

Page routes use a function-scoped session: it commits *before* the response is sent, so a
browser following the redirect after a sign-in always finds the new session in the database.
(FastAPI's default "request" scope would commit only after the response went out.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.accounts import service
from studyhall.accounts.dependencies import SESSION_COOKIE
from studyhall.accounts.service import Principal
from studyhall.core.db import AFTER_COMMIT_KEY, session_scope
from studyhall.core.errors import Unauthorized

_DB_STATE = "page_db"
VIEWER_STATE = "viewer"


class LoginRequired(Exception):
    """Raised by `SignedIn`; the page route answers with a redirect to /login?next=…."""


async def get_page_db(request: Request) -> AsyncIterator[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with session_scope(factory) as session:
        setattr(request.state, _DB_STATE, session)
        yield session


PageDb = Annotated[AsyncSession, Depends(get_page_db, scope="function")]


async def abandon(db: AsyncSession) -> None:
    """Undo the request's writes after a refused action, as if it had raised."""
    db.info.pop(AFTER_COMMIT_KEY, None)
    await db.rollback()


async def abandon_request_changes(request: Request) -> None:
    db: AsyncSession | None = getattr(request.state, _DB_STATE, None)
    if db is not None:
        await abandon(db)


async def get_viewer(request: Request, db: PageDb) -> Principal | None:
    """The signed-in user of the browser session, or None (an ended session is no error)."""
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
    return principal


Viewer = Annotated[Principal | None, Depends(get_viewer)]


async def require_viewer(viewer: Viewer) -> Principal:
    if viewer is None:
        raise LoginRequired
    return viewer


SignedIn = Annotated[Principal, Depends(require_viewer)]
