"""Who is asking: Bearer tokens or the browser's session cookie (with CSRF on API writes)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service
from studyhall.accounts.dependencies import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from studyhall.core.errors import Unauthorized
from studyhall.core.security import issue_csrf_token
from studyhall.core.settings import Settings
from tests.accounts.conftest import API, MakeUser

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def web_session(db: AsyncSession, settings: Settings, make_user: MakeUser) -> str:
    user = await make_user("browser@example.com", "Bea Browser")
    secret = await service.start_web_session(db, settings, user, FIREFOX, "127.0.0.1")
    await db.commit()
    return secret


async def test_web_session_lifecycle_in_the_service(
    db: AsyncSession, settings: Settings, make_user: MakeUser
) -> None:
    secret = await web_session(db, settings, make_user)
    principal = await service.principal_from_web_secret(db, secret)
    assert principal.user.email == "browser@example.com"
    sessions = await service.list_sessions(db, principal.id, principal.session_id)
    assert [(s.kind, s.device, s.current) for s in sessions] == [("web", "Firefox on Linux", True)]

    await service.end_web_session(db, secret)
    await db.commit()
    with pytest.raises(Unauthorized) as ended:
        await service.principal_from_web_secret(db, secret)
    assert ended.value.code == "session_ended"
    with pytest.raises(Unauthorized):
        await service.principal_from_web_secret(db, "no such secret")


async def test_cookie_auth_on_the_api_needs_csrf_for_writes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, make_user: MakeUser
) -> None:
    secret = await web_session(db, settings, make_user)
    csrf_token = issue_csrf_token(settings.effective_secret_key)
    cookies = f"{SESSION_COOKIE}={secret}; {CSRF_COOKIE}={csrf_token}"

    read = await client.get(f"{API}/me", headers={"Cookie": cookies})
    assert read.status_code == 200 and read.json()["email"] == "browser@example.com"

    for csrf in (None, "a-different-token"):
        headers = {"Cookie": cookies} | ({CSRF_HEADER: csrf} if csrf else {})
        refused = await client.post(f"{API}/auth/logout", headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert (await client.get(f"{API}/me", headers={"Cookie": cookies})).status_code == 200

    signed_out = await client.post(
        f"{API}/auth/logout", headers={"Cookie": cookies, CSRF_HEADER: csrf_token}
    )
    assert signed_out.status_code == 204
    after = await client.get(f"{API}/me", headers={"Cookie": cookies})
    assert after.status_code == 401 and after.json()["code"] == "session_ended"


@pytest.mark.parametrize(
    "planted",
    [
        pytest.param("attacker-chosen-value", id="unsigned"),
        pytest.param(issue_csrf_token("another installation's secret"), id="foreign-key"),
    ],
)
async def test_cookie_auth_on_the_api_refuses_a_planted_csrf_cookie(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    make_user: MakeUser,
    planted: str,
) -> None:
    """A sibling subdomain can set the cookie and echo it, but cannot sign it: same as pages."""
    secret = await web_session(db, settings, make_user)
    cookies = f"{SESSION_COOKIE}={secret}; {CSRF_COOKIE}={planted}"
    refused = await client.post(
        f"{API}/auth/logout", headers={"Cookie": cookies, CSRF_HEADER: planted}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    still_signed_in = await client.get(f"{API}/me", headers={"Cookie": cookies})
    assert still_signed_in.status_code == 200
