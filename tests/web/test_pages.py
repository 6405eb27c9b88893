"""The page routes over HTTP: layout, CSRF, sign-in redirects, forms shown again with errors."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from studyhall.accounts.dependencies import CSRF_COOKIE, SESSION_COOKIE
from studyhall.app import create_app
from studyhall.core.security import issue_csrf_token
from studyhall.core.settings import Settings
from studyhall.web import account_pages, auth_pages, pages
from studyhall.web.routing import PageRoute
from studyhall.web.security import safe_next
from tests.backends import Mailbox, message_text
from tests.conftest import PASSWORD, TOKEN_IN_LINK, register_and_verify
from tests.web.support import (
    HTML,
    csrf_token,
    form_token,
    post_form,
    set_cookie_headers,
    web_sign_in,
)

PUBLIC_PAGES = ["/", "/signup", "/login", "/verify", "/forgot-password", "/reset-password?token=x"]
EMAIL = "page.user@example.com"


@pytest.fixture
async def member(client: httpx.AsyncClient, mailbox: Mailbox) -> str:
    """A verified account, made through the API."""
    await register_and_verify(client, mailbox, EMAIL, "Page User")
    return EMAIL


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, member: str) -> httpx.AsyncClient:
    response = await web_sign_in(client, member)
    assert response.status_code == 303, response.text
    return client


# ---------------------------------------------------------------- layout and cookies


@pytest.mark.parametrize("path", PUBLIC_PAGES)
async def test_public_pages_share_an_accessible_layout(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert re.search(r"<title>[^<]+ · Studyhall</title>", html)
    assert '<a class="skip-link" href="#main">' in html
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in html
    assert '<meta name="htmx-config"' in html and "includeIndicatorStyles" in html
    assert "style=" not in html, "inline styles are blocked by the CSP"
    assert "<script>" not in html, "inline scripts are blocked by the CSP"
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self';" in response.headers["content-security-policy"]


async def test_csrf_cookie_is_set_once_and_matches_the_page(client: httpx.AsyncClient) -> None:
    first = await client.get("/login")
    [cookie] = set_cookie_headers(first, CSRF_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the test base URL is plain http
    token = csrf_token(first.text)
    assert f'<meta name="csrf-token" content="{token}">' in first.text
    assert client.cookies[CSRF_COOKIE] == token
    again = await client.get("/signup")
    assert not set_cookie_headers(again, CSRF_COOKIE)
    assert csrf_token(again.text) == token


async def test_cookies_are_secure_when_the_site_is_served_over_https(
    app: FastAPI, settings: Settings, member: str
) -> None:
    secure_app = create_app(settings.model_copy(update={"base_url": "https://studyhall.example"}))
    transport = httpx.ASGITransport(app=secure_app, client=("127.0.0.1", 50001))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="https://studyhall.example"
        ) as browser:
            response = await web_sign_in(browser, member)
    finally:
        await secure_app.state.engine.dispose()
    assert response.status_code == 303
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        [cookie] = set_cookie_headers(response, name)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    for path in ("/static/css/studyhall.css", "/static/js/studyhall.js", "/static/favicon.svg"):
        assert (await client.get(path)).status_code == 200, path
    htmx = await client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text


# ---------------------------------------------------------------- CSRF


def _post_paths() -> list[str]:
    routes = [*pages.router.routes, *auth_pages.router.routes, *account_pages.router.routes]
    paths = [
        route.path.replace("{session_id}", "00000000-0000-0000-0000-000000000000")
        for route in routes
        if isinstance(route, PageRoute) and "POST" in route.methods
    ]
    assert len(paths) >= 10, paths
    return paths


@pytest.mark.parametrize("path", _post_paths())
async def test_every_form_post_needs_the_csrf_token(client: httpx.AsyncClient, path: str) -> None:
    token = await form_token(client, "/login")
    missing = await client.post(path, data={"email": "a@example.com"}, headers=HTML)
    assert missing.status_code == 403
    assert "This form has expired" in missing.text
    wrong = await client.post(path, data={"csrf_token": token[::-1]}, headers=HTML)
    assert wrong.status_code == 403


async def test_a_planted_unsigned_csrf_cookie_is_refused(client: httpx.AsyncClient) -> None:
    client.cookies.set(CSRF_COOKIE, "attacker-chosen-value")
    response = await client.post(
        "/forgot-password",
        data={"csrf_token": "attacker-chosen-value", "email": "a@example.com"},
        headers=HTML,
    )
    assert response.status_code == 403


async def test_a_token_signed_with_another_key_is_refused(client: httpx.AsyncClient) -> None:
    foreign = issue_csrf_token("some other installation's secret")
    client.cookies.set(CSRF_COOKIE, foreign)
    response = await client.post(
        "/forgot-password", data={"csrf_token": foreign, "email": "a@example.com"}, headers=HTML
    )
    assert response.status_code == 403


async def test_htmx_requests_may_send_the_token_as_a_header(
    signed_in: httpx.AsyncClient,
) -> None:
    token = await form_token(signed_in, "/account/security")
    response = await signed_in.post(
        "/account/security/sessions/revoke-others",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert 'id="session-list"' in response.text
    assert 'hx-swap-oob="innerHTML"' in response.text


async def test_a_malformed_address_gets_an_error_page(signed_in: httpx.AsyncClient) -> None:
    token = await form_token(signed_in)
    response = await signed_in.post(
        "/account/security/sessions/not-a-uuid/revoke", data={"csrf_token": token}, headers=HTML
    )
    assert response.status_code == 422
    assert "<h1>The request is not valid</h1>" in response.text


# ---------------------------------------------------------------- sign-in and redirects


@pytest.mark.parametrize("path", ["/dashboard", "/account/security?tab=2fa"])
async def test_signed_in_pages_redirect_to_login_with_next(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?" + httpx.QueryParams({"next": path}).__str__()


async def test_htmx_gets_a_client_side_redirect_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=%2Fdashboard"


async def test_sign_in_sets_the_session_cookie_and_follows_next(
    client: httpx.AsyncClient, member: str
) -> None:
    before = await form_token(client, "/login")
    response = await web_sign_in(client, member, next_path="/account/security")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/security"
    [session] = set_cookie_headers(response, SESSION_COOKIE)
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    [csrf] = set_cookie_headers(response, CSRF_COOKIE)
    assert before not in csrf, "the CSRF token is rotated at sign-in"
    security = await client.get("/account/security")
    assert security.status_code == 200
    assert "Where you are signed in" in security.text


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
async def test_sign_in_never_redirects_off_site(
    client: httpx.AsyncClient, member: str, target: str
) -> None:
    response = await web_sign_in(client, member, next_path=target)
    assert response.headers["location"] == "/dashboard"


def test_safe_next_keeps_local_paths_only() -> None:
    assert safe_next("/account/security?x=1#y") == "/account/security?x=1#y"
    assert safe_next("/ok", default="/") == "/ok"
    for unsafe in ("http://x", "//x", "/\\x", "x", "/a\nb", None):
        assert safe_next(unsafe) == "/dashboard"


async def test_signed_in_visitors_skip_the_login_and_signup_pages(
    signed_in: httpx.AsyncClient,
) -> None:
    assert (await signed_in.get("/login")).headers["location"] == "/dashboard"
    assert (await signed_in.get("/signup")).headers["location"] == "/dashboard"
    home = await signed_in.get("/")
    assert 'href="/dashboard"' in home.text and "Sign out" in home.text


async def test_wrong_password_is_shown_with_the_email_kept(
    client: httpx.AsyncClient, member: str
) -> None:
    response = await web_sign_in(client, member, password="not the right passphrase")
    assert response.status_code == 401
    assert "Email or password is incorrect." in response.text
    assert f'value="{member}"' in response.text
    assert "not the right passphrase" not in response.text
    assert "<title>Error: Sign in · Studyhall</title>" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_invalid_email_is_tied_to_its_field(client: httpx.AsyncClient) -> None:
    response = await web_sign_in(client, "not-an-email", password="whatever it is")
    assert response.status_code == 422
    assert 'aria-describedby="email-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert '<a href="#email">' in response.text
    assert 'value="not-an-email"' in response.text


async def test_unverified_accounts_are_told_how_to_verify(client: httpx.AsyncClient) -> None:
    await post_form(
        client, "/signup", {"name": "New", "email": "new@example.com", "password": PASSWORD}
    )
    response = await web_sign_in(client, "new@example.com")
    assert response.status_code == 403
    assert "Verify your email address first" in response.text
    assert 'href="/verify"' in response.text


async def test_sign_out_ends_the_session(signed_in: httpx.AsyncClient) -> None:
    old_secret = signed_in.cookies[SESSION_COOKIE]
    response = await post_form(signed_in, "/logout", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/?notice=signed-out"
    assert 'sh_session=""' in response.headers["set-cookie"]
    signed_in.cookies.set(SESSION_COOKIE, old_secret)
    assert (await signed_in.get("/dashboard")).status_code == 303


# ---------------------------------------------------------------- sign-up and verification


async def test_sign_up_then_verify_by_the_emailed_link(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    fields = {"name": "Vera", "email": "vera@example.com", "password": PASSWORD}
    response = await post_form(client, "/signup", fields)
    assert response.status_code == 200
    assert "Check your email" in response.text
    message = await mailbox.wait_for("vera@example.com", "Verify")
    token = TOKEN_IN_LINK.search(message_text(message))
    assert token
    opened = await client.get(f"/verify?token={token.group(1)}")
    assert opened.status_code == 200
    assert "Confirm your email address" in opened.text
    # Only the button confirms: a scanner opening the link twice uses nothing up.
    assert (await client.get(f"/verify?token={token.group(1)}")).status_code == 200
    verified = await post_form(client, "/verify", {"token": token.group(1)})
    assert verified.status_code == 200
    assert "Email address verified" in verified.text
    again = await post_form(client, "/verify", {"token": token.group(1)})
    assert again.status_code == 400
    assert "invalid, used or expired" in again.text
    assert 'action="/verify/resend"' in again.text


async def test_sign_up_does_not_reveal_a_registered_address(
    client: httpx.AsyncClient, member: str, mailbox: Mailbox
) -> None:
    fields = {"name": "Someone", "password": PASSWORD}
    taken = await post_form(client, "/signup", {**fields, "email": member})
    fresh = await post_form(client, "/signup", {**fields, "email": "fresh@example.com"})
    assert taken.status_code == fresh.status_code == 200
    assert _without(taken.text, member) == _without(fresh.text, "fresh@example.com")
    await mailbox.wait_for(member, "Someone tried to sign up")


def _without(html: str, email: str) -> str:
    return html.replace(email, "EMAIL")


async def test_weak_password_is_shown_next_to_the_field(client: httpx.AsyncClient) -> None:
    fields = {"name": "Wendy", "email": "wendy@example.com", "password": "password123"}
    response = await post_form(client, "/signup", fields)
    assert response.status_code == 422
    assert 'id="password-error"' in response.text
    assert "too common" in response.text
    assert 'value="Wendy"' in response.text and 'value="wendy@example.com"' in response.text
    assert "password123" not in response.text


# ---------------------------------------------------------------- password reset


async def test_forgot_password_answers_alike_and_is_rate_limited(
    client: httpx.AsyncClient, member: str, mailbox: Mailbox
) -> None:
    known = await post_form(client, "/forgot-password", {"email": member})
    unknown = await post_form(client, "/forgot-password", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert _without(known.text, member) == _without(unknown.text, "nobody@example.com")
    await mailbox.wait_for(member, "Reset")
    for _ in range(3):
        await post_form(client, "/forgot-password", {"email": "nobody@example.com"})
    limited = await post_form(client, "/forgot-password", {"email": "nobody@example.com"})
    assert limited.status_code == 429
    assert "Too many requests" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert 'value="nobody@example.com"' in limited.text


async def test_reset_refusing_a_weak_password_keeps_the_link_usable(
    client: httpx.AsyncClient, member: str, mailbox: Mailbox
) -> None:
    await post_form(client, "/forgot-password", {"email": member})
    message = await mailbox.wait_for(member, "Reset")
    match = TOKEN_IN_LINK.search(message_text(message))
    assert match
    token = match.group(1)
    page = f"/reset-password?token={token}"
    weak = {"token": token, "password": "password1", "password_confirm": "password1"}
    refused = await post_form(client, "/reset-password", weak, page)
    assert refused.status_code == 422
    assert f'name="token" value="{token}"' in refused.text
    mismatch = {"token": token, "password": "a new passphrase here", "password_confirm": "other"}
    refused = await post_form(client, "/reset-password", mismatch, page)
    assert refused.status_code == 422 and "do not match" in refused.text
    new = "a brand new passphrase"
    done = await post_form(
        client, "/reset-password", {"token": token, "password": new, "password_confirm": new}, page
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/login?notice=password-reset"
    assert (await web_sign_in(client, member, password=new)).status_code == 303
