"""Access tokens, refresh-token rotation and reuse detection, and a user's list of sessions."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service
from studyhall.accounts.service import RefreshTokenReused
from studyhall.core.db import utcnow
from studyhall.core.security import encode_jwt
from studyhall.core.settings import Settings
from tests.accounts.conftest import API, MakeUser, SecurityLog, bearer, login
from tests.conftest import SignedInUser, sign_in

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """header.payload. with an empty signature, as an `alg: none` token is written."""
    encode = lambda part: b64url(json.dumps(part, separators=(",", ":")).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}."


async def status_of(client: httpx.AsyncClient, token: str) -> tuple[int, str]:
    response = await client.get(f"{API}/me", headers=bearer(token))
    code = response.json().get("code", "") if response.status_code != 200 else ""
    return response.status_code, code


# ------------------------------------------------------------------ access tokens


async def test_a_correctly_signed_copy_of_the_claims_is_accepted(
    client: httpx.AsyncClient, student: SignedInUser, settings: Settings
) -> None:
    """Control for the forgeries below: the same claims, properly signed, do work."""
    resigned = jwt.encode(
        claims_of(student.access_token), settings.effective_secret_key, algorithm="HS256"
    )
    assert await status_of(client, resigned) == (200, "")


async def test_a_tampered_payload_is_refused(
    client: httpx.AsyncClient, student: SignedInUser, admin: SignedInUser
) -> None:
    header, _payload, signature = student.access_token.split(".")
    claims = claims_of(student.access_token)
    for changed in ({"sub": admin.id}, {"exp": claims["exp"] + 86400}, {"typ": "access "}):
        forged_payload = b64url(json.dumps({**claims, **changed}).encode())
        forged = f"{header}.{forged_payload}.{signature}"
        assert await status_of(client, forged) == (401, "invalid_token"), changed


async def test_a_wrong_signature_is_refused(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    claims = claims_of(student.access_token)
    other_key = jwt.encode(claims, "another secret key of the same length!!", algorithm="HS256")
    assert await status_of(client, other_key) == (401, "invalid_token")
    header, payload, signature = student.access_token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert await status_of(client, f"{header}.{payload}.{flipped}") == (401, "invalid_token")
    assert await status_of(client, f"{header}.{payload}.") == (401, "invalid_token")


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, student: SignedInUser, settings: Settings
) -> None:
    claims = claims_of(student.access_token)
    expired = encode_jwt(
        settings.effective_secret_key,
        claims["sub"],
        "access",
        timedelta(seconds=-1),
        sid=claims["sid"],
    )
    assert await status_of(client, expired) == (401, "invalid_token")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(
    client: httpx.AsyncClient, student: SignedInUser, alg: str
) -> None:
    forged = unsigned({"alg": alg, "typ": "JWT"}, claims_of(student.access_token))
    assert await status_of(client, forged) == (401, "invalid_token")


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_another_algorithm_with_the_same_secret_is_refused(
    client: httpx.AsyncClient, student: SignedInUser, settings: Settings, algorithm: str
) -> None:
    with warnings.catch_warnings():  # PyJWT warns the test key is short for HS512; so be it
        warnings.simplefilter("ignore")
        forged = jwt.encode(
            claims_of(student.access_token), settings.effective_secret_key, algorithm=algorithm
        )
    assert jwt.get_unverified_header(forged)["alg"] == algorithm
    assert await status_of(client, forged) == (401, "invalid_token")


async def test_an_mfa_challenge_is_not_an_access_token(
    client: httpx.AsyncClient, student: SignedInUser, settings: Settings
) -> None:
    claims = claims_of(student.access_token)
    # Everything an access token has (even the session id) except its type.
    challenge = encode_jwt(
        settings.effective_secret_key,
        claims["sub"],
        service.MFA_CHALLENGE,
        timedelta(minutes=5),
        sid=claims["sid"],
    )
    assert await status_of(client, challenge) == (401, "invalid_token")
    # And the other way round: an access token cannot stand in for a 2FA challenge.
    step = await client.post(
        f"{API}/auth/login/2fa", json={"challenge": student.access_token, "code": "123456"}
    )
    assert step.status_code == 401
    assert step.json()["code"] == "invalid_challenge"


async def test_garbage_and_missing_tokens_are_refused(client: httpx.AsyncClient) -> None:
    assert await status_of(client, "not-a-jwt") == (401, "invalid_token")
    missing = await client.get(f"{API}/me")
    assert missing.status_code == 401
    assert missing.json()["code"] == "not_authenticated"
    assert missing.headers["WWW-Authenticate"] == "Bearer"


async def test_a_token_of_an_ended_session_is_refused(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    assert await status_of(client, student.access_token) == (200, "")
    logout = await client.post(f"{API}/auth/logout", headers=student.headers)
    assert logout.status_code == 204
    assert await status_of(client, student.access_token) == (401, "session_ended")
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": student.refresh_token}
    )
    assert refreshed.status_code == 401


# ------------------------------------------------------------------ refresh tokens


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{API}/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_the_token(client: httpx.AsyncClient, student: SignedInUser) -> None:
    first = await refresh(client, student.refresh_token)
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["refresh_token"] != student.refresh_token
    assert await status_of(client, pair["access_token"]) == (200, "")
    assert claims_of(pair["access_token"])["sid"] == claims_of(student.access_token)["sid"]
    second = await refresh(client, pair["refresh_token"])
    assert second.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient,
    student: SignedInUser,
    security_log: SecurityLog,
) -> None:
    other_device = await sign_in(client, student.email)
    rotated = (await refresh(client, student.refresh_token)).json()
    newest = (await refresh(client, rotated["refresh_token"])).json()
    assert await status_of(client, newest["access_token"]) == (200, "")

    reuse = await refresh(client, student.refresh_token)  # stolen copy of the first token
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "invalid_refresh_token"

    # The legitimate holder's newest tokens die with the family...
    assert (await refresh(client, newest["refresh_token"])).status_code == 401
    assert await status_of(client, newest["access_token"]) == (401, "session_ended")
    assert await status_of(client, student.access_token) == (401, "session_ended")
    # ...but the user's other sessions are a different family.
    assert await status_of(client, other_device.access_token) == (200, "")
    assert (await refresh(client, other_device.refresh_token)).status_code == 200

    events = security_log.events("refresh_token_reuse")
    assert len(events) == 1
    assert events[0]["user_id"] == student.id
    assert events[0]["session_id"] == claims_of(student.access_token)["sid"]
    assert events[0]["level"] == "warning"


async def test_concurrent_refreshes_of_one_token_all_get_the_same_pair(
    client: httpx.AsyncClient, student: SignedInUser, security_log: SecurityLog
) -> None:
    """Tabs refreshing the same token at once all stay signed in, with one new pair."""
    answers = await asyncio.gather(*(refresh(client, student.refresh_token) for _ in range(8)))

    assert [answer.status_code for answer in answers] == [200] * 8
    pairs = {(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}
    assert len(pairs) == 1
    (access_token, refresh_token) = pairs.pop()
    assert await status_of(client, access_token) == (200, "")
    assert security_log.events("refresh_token_reuse") == []
    # The shared successor is a normal, single link of the family.
    assert (await refresh(client, refresh_token)).status_code == 200


async def test_a_refresh_within_the_grace_period_after_the_successor_was_used_revokes(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    rotated = (await refresh(client, student.refresh_token)).json()
    newest = (await refresh(client, rotated["refresh_token"])).json()

    assert (await refresh(client, student.refresh_token)).status_code == 401
    assert await status_of(client, newest["access_token"]) == (401, "session_ended")


async def test_reuse_after_the_grace_period_revokes_the_whole_family(
    client: httpx.AsyncClient,
    student: SignedInUser,
    db: AsyncSession,
    settings: Settings,
    security_log: SecurityLog,
) -> None:
    rotated = (await refresh(client, student.refresh_token)).json()

    after_grace = utcnow() + timedelta(seconds=settings.refresh_grace_seconds + 1)
    with pytest.raises(RefreshTokenReused):
        await service.rotate_refresh_token(
            db, settings, student.refresh_token, FIREFOX_LINUX, "127.0.0.1", now=after_grace
        )
    await db.commit()

    assert await status_of(client, rotated["access_token"]) == (401, "session_ended")
    assert (await refresh(client, rotated["refresh_token"])).status_code == 401
    assert len(security_log.events("refresh_token_reuse")) == 1


async def test_no_grace_period_when_it_is_set_to_zero(
    client: httpx.AsyncClient,
    student: SignedInUser,
    override_settings: Callable[..., Settings],
) -> None:
    override_settings(refresh_grace_seconds=0)
    rotated = (await refresh(client, student.refresh_token)).json()

    assert (await refresh(client, student.refresh_token)).status_code == 401
    assert await status_of(client, rotated["access_token"]) == (401, "session_ended")


async def test_an_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await refresh(client, "x" * 43)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


# ------------------------------------------------------------------ my sessions


async def test_list_sessions_shows_devices_and_the_current_one(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("devices@example.com")
    laptop = (await login(client, "devices@example.com")).json()
    phone_login = await client.post(
        f"{API}/auth/login",
        json={"email": "devices@example.com", "password": "a long and unusual passphrase"},
        headers={"User-Agent": SAFARI_IPHONE},
    )
    phone = phone_login.json()
    # Sessions record the agent that signed in; refreshing updates it.
    laptop = (
        await client.post(
            f"{API}/auth/refresh",
            json={"refresh_token": laptop["refresh_token"]},
            headers={"User-Agent": FIREFOX_LINUX},
        )
    ).json()

    listed = await client.get(f"{API}/me/sessions", headers=bearer(laptop["access_token"]))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 2
    by_device = {item["device"]: item for item in body["items"]}
    assert set(by_device) == {"Firefox on Linux", "Safari on iOS"}
    assert by_device["Firefox on Linux"]["current"] is True
    assert by_device["Safari on iOS"]["current"] is False
    assert by_device["Safari on iOS"]["id"] == claims_of(phone["access_token"])["sid"]
    assert all(
        item["ip_address"] == "127.0.0.1" and item["kind"] == "api" for item in body["items"]
    )

    seen_from_phone = await client.get(f"{API}/me/sessions", headers=bearer(phone["access_token"]))
    current = [item["device"] for item in seen_from_phone.json()["items"] if item["current"]]
    assert current == ["Safari on iOS"]


async def test_revoke_one_session(
    client: httpx.AsyncClient, student: SignedInUser, admin: SignedInUser
) -> None:
    phone = await sign_in(client, student.email)
    phone_sid = claims_of(phone.access_token)["sid"]
    # Not someone else's session, and not one that does not exist.
    for who, sid in ((admin, phone_sid), (student, str(uuid.uuid4()))):
        denied = await client.delete(f"{API}/me/sessions/{sid}", headers=who.headers)
        assert denied.status_code == 404
        assert denied.json()["code"] == "session_not_found"
    assert await status_of(client, phone.access_token) == (200, "")

    revoked = await client.delete(f"{API}/me/sessions/{phone_sid}", headers=student.headers)
    assert revoked.status_code == 204
    assert await status_of(client, phone.access_token) == (401, "session_ended")
    assert (await refresh(client, phone.refresh_token)).status_code == 401
    assert await status_of(client, student.access_token) == (200, "")
    listed = (await client.get(f"{API}/me/sessions", headers=student.headers)).json()
    assert [item["current"] for item in listed["items"]] == [True]


async def test_revoke_all_sessions(client: httpx.AsyncClient, student: SignedInUser) -> None:
    tablet = await sign_in(client, student.email)
    phone = await sign_in(client, student.email)

    kept = await client.delete(
        f"{API}/me/sessions", params={"keep_current": "true"}, headers=tablet.headers
    )
    assert kept.status_code == 204
    assert await status_of(client, tablet.access_token) == (200, "")
    assert await status_of(client, phone.access_token) == (401, "session_ended")
    assert await status_of(client, student.access_token) == (401, "session_ended")

    everything = await client.delete(f"{API}/me/sessions", headers=tablet.headers)
    assert everything.status_code == 204
    assert await status_of(client, tablet.access_token) == (401, "session_ended")
    assert (await refresh(client, tablet.refresh_token)).status_code == 401


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/126.0.0.0 Safari/537.36",
            "Chrome on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPadOS",
        ),
        ("curl/8.5.0", "curl"),
        ("python-httpx/0.28.1", "Python"),
        ("", "Unknown browser"),
    ],
)
def test_describe_device(user_agent: str, label: str) -> None:
    assert service.describe_device(user_agent) == label
