"""FastAPI dependencies for plumbing: the request's database session, settings and storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.core.db import session_scope
from studyhall.core.ratelimit import RateLimitResult, client_ip, remember_headers
from studyhall.core.requests import RequestContext
from studyhall.core.settings import Settings
from studyhall.core.storage import Storage


async def get_settings_dep(request: Request) -> Settings:
    # async although it awaits nothing: FastAPI runs a plain `def` dependency in a thread.
    settings: Settings = request.app.state.settings
    return settings


async def get_storage_dep(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


SESSION_STATE = "db_session"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed after the handler, rolled back if it raises."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with session_scope(factory) as session:
        setattr(request.state, SESSION_STATE, session)
        yield session


def request_session(request: Request) -> AsyncSession | None:
    """The request's session, for code that must undo its writes outside the handler (e.g.
    an error page rendered instead of the handler's response)."""
    session: AsyncSession | None = getattr(request.state, SESSION_STATE, None)
    return session


# scope="function": the commit happens before the response is sent, so a client never sees
# success for a write that then fails to commit, and its next request reads what it wrote.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppStorage = Annotated[Storage, Depends(get_storage_dep)]


async def get_request_context(request: Request, settings: AppSettings) -> RequestContext:
    """The request as the shared actions see it (the same for the API and the pages)."""

    def remember(result: RateLimitResult) -> None:
        remember_headers(request, result)

    return RequestContext(
        settings=settings,
        ip=client_ip(request, settings.trusted_proxy),
        user_agent=request.headers.get("user-agent", ""),
        remember=remember,
    )


Context = Annotated[RequestContext, Depends(get_request_context)]
