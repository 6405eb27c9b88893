"""The security page and the sign-in step that asks for a second factor."""

from __future__ import annotations

import httpx
import pytest

from studyhall.accounts.dependencies import SESSION_COOKIE
from tests.backends import Mailbox
from tests.conftest import PASSWORD, register_and_verify, sign_in
from tests.web.support import (
    CHALLENGE_FIELD,
    HTML,
    csrf_token,
    enable_two_factor,
    form_token,
    next_code,
    post_form,
    set_cookie_headers,
    web_sign_in,
)

EMAIL = "secure.user@example.com"
SECURITY = "/account/security"


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, mailbox: Mailbox) -> httpx.AsyncClient:
    await register_and_verify(client, mailbox, EMAIL, "Secure User")
    response = await web_sign_in(client, EMAIL)
    assert response.status_code == 303, response.text
    return client


async def _sign_out(client: httpx.AsyncClient) -> None:
    assert (await post_form(client, "/logout", {})).status_code == 303


async def _password_step(client: httpx.AsyncClient) -> str:
    """Sign in with the password; returns the 2FA challenge the next form carries."""
    response = await web_sign_in(client, EMAIL)
    assert response.status_code == 200, response.text
    assert "Two-factor authentication" in response.text
    assert not set_cookie_headers(response, SESSION_COOKIE), "no session before the code"
    match = CHALLENGE_FIELD.search(response.text)
    assert match
    return match.group(1)


async def _second_step(
    client: httpx.AsyncClient, challenge: str, code: str, next_path: str = ""
) -> httpx.Response:
    data = {"challenge": challenge, "code": code, "next": next_path}
    return await post_form(client, "/login/2fa", data, "/")


# ---------------------------------------------------------------- two-factor sign-in


async def test_two_factor_sign_in_asks_for_a_code(signed_in: httpx.AsyncClient) -> None:
    secret, _codes = await enable_two_factor(signed_in)
    await _sign_out(signed_in)
    challenge = await _password_step(signed_in)

    wrong = await _second_step(signed_in, challenge, "000000")
    assert wrong.status_code == 401
    assert (
        'id="code-error"' in wrong.text and 'aria-describedby="code-hint code-error"' in wrong.text
    )
    assert f'name="challenge" value="{challenge}"' in wrong.text

    done = await _second_step(signed_in, challenge, next_code(secret), "/account/security")
    assert done.status_code == 303
    assert done.headers["location"] == "/account/security"
    assert set_cookie_headers(done, SESSION_COOKIE)
    page = await signed_in.get(SECURITY)
    assert "unused backup codes" in page.text or "unused backup code" in page.text


async def test_a_backup_code_signs_in_once(signed_in: httpx.AsyncClient) -> None:
    _secret, codes = await enable_two_factor(signed_in)
    await _sign_out(signed_in)
    challenge = await _password_step(signed_in)
    assert (await _second_step(signed_in, challenge, codes[0].lower())).status_code == 303
    await _sign_out(signed_in)
    challenge = await _password_step(signed_in)
    reused = await _second_step(signed_in, challenge, codes[0])
    assert reused.status_code == 401
    assert "That code is not valid." in reused.text


async def test_a_used_challenge_sends_the_visitor_back_to_the_password(
    signed_in: httpx.AsyncClient,
) -> None:
    _secret, codes = await enable_two_factor(signed_in)
    await _sign_out(signed_in)
    challenge = await _password_step(signed_in)
    assert (await _second_step(signed_in, challenge, codes[0])).status_code == 303
    replay = await _second_step(signed_in, challenge, codes[1])
    assert replay.status_code == 401
    assert 'action="/login"' in replay.text
    assert "already used" in replay.text


async def test_a_forged_challenge_is_refused(client: httpx.AsyncClient) -> None:
    response = await _second_step(client, "not-a-challenge", "123456")
    assert response.status_code == 401
    assert "enter your password again" in response.text


# ---------------------------------------------------------------- two-factor management


async def test_setup_shows_the_qr_code_and_key_until_confirmed(
    signed_in: httpx.AsyncClient,
) -> None:
    await post_form(signed_in, f"{SECURITY}/2fa/setup", {}, SECURITY)
    page = await signed_in.get(SECURITY)
    assert '<svg viewBox="0 0' in page.text and "QR code for your authenticator app" in page.text
    assert 'id="totp-secret"' in page.text
    refused = await signed_in.post(
        f"{SECURITY}/2fa/enable",
        data={"csrf_token": csrf_token(page.text), "code": "000000"},
        headers=HTML,
    )
    assert refused.status_code == 400
    assert 'id="enable-code-error"' in refused.text
    assert "<title>Error: Security · Studyhall</title>" in refused.text
    assert 'id="totp-secret"' in refused.text, "the same key is shown again"


async def test_backup_codes_can_be_replaced(signed_in: httpx.AsyncClient) -> None:
    secret, old_codes = await enable_two_factor(signed_in)
    token = await form_token(signed_in, SECURITY)
    response = await signed_in.post(
        f"{SECURITY}/2fa/backup-codes",
        data={"csrf_token": token, "code": next_code(secret)},
        headers=HTML,
    )
    assert response.status_code == 200
    assert "Save your backup codes" in response.text
    assert not any(code in response.text for code in old_codes)


async def test_turning_two_factor_off_needs_password_and_code(
    signed_in: httpx.AsyncClient,
) -> None:
    _secret, codes = await enable_two_factor(signed_in)
    data = {"password": "not my password", "code": codes[0]}
    refused = await post_form(signed_in, f"{SECURITY}/2fa/disable", data, SECURITY)
    assert refused.status_code == 400
    assert "Password or code is incorrect." in refused.text
    data = {"password": PASSWORD, "code": codes[0]}
    done = await post_form(signed_in, f"{SECURITY}/2fa/disable", data, SECURITY)
    assert done.status_code == 303
    page = await signed_in.get(done.headers["location"])
    assert "Two-factor authentication is off." in page.text
    assert "Set up two-factor authentication" in page.text


# ---------------------------------------------------------------- sessions


async def test_sessions_list_and_revoke_another_device(
    signed_in: httpx.AsyncClient,
) -> None:
    phone = await sign_in(signed_in, EMAIL)  # an API session, like the mobile app's
    page = await signed_in.get(SECURITY)
    assert "This browser" in page.text and "(app)" in page.text
    sessions = await signed_in.get("/api/v1/me/sessions", headers=phone.headers)
    other = next(s for s in sessions.json()["items"] if s["current"])
    token = csrf_token(page.text)
    response = await signed_in.post(
        f"{SECURITY}/sessions/{other['id']}/revoke",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert "That session was signed out." in response.text
    assert "(app)" not in response.text
    assert (await signed_in.get("/api/v1/me", headers=phone.headers)).status_code == 401


async def test_revoking_without_javascript_reloads_the_page(signed_in: httpx.AsyncClient) -> None:
    await sign_in(signed_in, EMAIL)
    response = await post_form(signed_in, f"{SECURITY}/sessions/revoke-others", {}, SECURITY)
    assert response.status_code == 303
    page = await signed_in.get(response.headers["location"])
    assert "Every other session was signed out." in page.text
    assert "(app)" not in page.text


async def test_someone_elses_session_is_not_found(signed_in: httpx.AsyncClient) -> None:
    token = await form_token(signed_in, SECURITY)
    response = await signed_in.post(
        f"{SECURITY}/sessions/00000000-0000-0000-0000-000000000001/revoke",
        data={"csrf_token": token},
        headers=HTML,
    )
    assert response.status_code == 404
    assert "No such session." in response.text
    assert "<h1>Not found</h1>" in response.text


# ---------------------------------------------------------------- password


async def test_changing_the_password_keeps_this_browser_signed_in(
    signed_in: httpx.AsyncClient,
) -> None:
    old_secret = signed_in.cookies[SESSION_COOKIE]
    new = "another long passphrase"
    wrong = {"current_password": "wrong one", "new_password": new, "password_confirm": new}
    refused = await post_form(signed_in, f"{SECURITY}/password", wrong, SECURITY)
    assert refused.status_code == 400
    assert 'id="password-current_password-error"' in refused.text
    right = {"current_password": PASSWORD, "new_password": new, "password_confirm": new}
    done = await post_form(signed_in, f"{SECURITY}/password", right, SECURITY)
    assert done.status_code == 303
    assert set_cookie_headers(done, SESSION_COOKIE)
    assert (await signed_in.get(SECURITY)).status_code == 200
    signed_in.cookies.set(SESSION_COOKIE, old_secret)
    assert (await signed_in.get(SECURITY)).status_code == 303
