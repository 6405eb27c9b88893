"""Helpers shared by the page tests: CSRF tokens, sign-in through the pages, TOTP, axe."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp
from playwright.async_api import Page

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL_PATH = "/__axe__/axe.min.js"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SECRET_ON_PAGE = re.compile(r'data-secret="([A-Z2-7]+)"')
BACKUP_CODE = re.compile(r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>")
CHALLENGE_FIELD = re.compile(r'name="challenge" value="([^"]+)"')
LINK = re.compile(r"https?://\S+")
HTML = {"accept": "text/html"}
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def csrf_token(html: str) -> str:
    """The token every page carries for its forms and HTMX requests."""
    match = CSRF_META.search(html)
    assert match, "no csrf-token meta tag on the page"
    return match.group(1)


async def form_token(client: httpx.AsyncClient, path: str = "/") -> str:
    """GET a page (which sets the CSRF cookie when missing) and return its form token."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_token(response.text)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], page: str = "/"
) -> httpx.Response:
    """POST a form the way a browser would after loading `page`."""
    token = await form_token(client, page)
    return await client.post(path, data={"csrf_token": token, **data}, headers=HTML)


async def web_sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, next_path: str = ""
) -> httpx.Response:
    return await post_form(
        client, "/login", {"email": email, "password": password, "next": next_path}, "/login"
    )


def current_code(secret: str) -> str:
    return str(pyotp.TOTP(secret).now())


def next_code(secret: str) -> str:
    """The code of the next 30-second step: accepted now (±1 step) and newer than `now()`'s."""
    return str(pyotp.TOTP(secret).at(time.time() + 30))


async def enable_two_factor(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Turn 2FA on through the security page; returns the secret and the backup codes."""
    started = await post_form(client, "/account/security/2fa/setup", {}, "/account/security")
    assert started.status_code == 303, started.text
    page = await client.get("/account/security")
    secret_match = SECRET_ON_PAGE.search(page.text)
    assert secret_match, page.text
    secret = secret_match.group(1)
    enabled = await client.post(
        "/account/security/2fa/enable",
        data={"csrf_token": csrf_token(page.text), "code": current_code(secret)},
        headers=HTML,
    )
    assert enabled.status_code == 200, enabled.text
    codes = BACKUP_CODE.findall(enabled.text)
    assert len(codes) == 10, enabled.text
    return secret, codes


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


async def assert_accessible(page: Page, name: str) -> None:
    """Run axe-core on the page; fail on any serious or critical violation."""
    await page.add_script_tag(url=AXE_URL_PATH)
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run()).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' ')),
        }))"""
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe found problems on the {name} page: " + "; ".join(
        f"[{v['impact']}] {v['id']}: {v['help']} at {', '.join(v['targets'])}" for v in blocking
    )
