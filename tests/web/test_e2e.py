"""In a real browser: sign up, verify by email, turn on 2FA, sign in again; reset a password.

Every page visited is checked with axe-core (serious and critical violations fail), under the
production Content-Security-Policy (any violation fails the test, see the `page` fixture).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.backends import Mailbox, message_text
from tests.conftest import PASSWORD
from tests.web.support import LINK, assert_accessible, current_code, next_code

pytestmark = pytest.mark.e2e

NAME = "Erin Example"
SCREENSHOTS = Path(tempfile.gettempdir())  # /tmp/studyhall-*.png, to look at


async def _heading(page: Page, text: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text(text)


async def _emailed_link(mailbox: Mailbox, to: str, subject: str, base_url: str) -> str:
    message = await mailbox.wait_for(to, subject)
    match = LINK.search(message_text(message))
    assert match, message_text(message)
    assert match.group(0).startswith(base_url + "/"), "links point at the server that sent them"
    return match.group(0)


async def _sign_up(page: Page, mailbox: Mailbox, email: str, base_url: str) -> None:
    await page.goto("/")
    await _heading(page, "Study together, on your own server")
    await assert_accessible(page, "home")
    await page.get_by_role("main").get_by_role("link", name="Create an account").click()
    await _heading(page, "Create an account")
    await assert_accessible(page, "sign-up")
    await page.get_by_label("Your name").fill(NAME)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await _heading(page, "Check your email")

    await page.goto(await _emailed_link(mailbox, email, "Verify", base_url))
    await _heading(page, "Confirm your email address")
    await page.get_by_role("button", name="Confirm my email address").click()
    await _heading(page, "Email address verified")
    await assert_accessible(page, "verify")
    await page.get_by_role("main").get_by_role("link", name="Sign in").click()


async def _enter_password(page: Page, email: str, password: str = PASSWORD) -> None:
    await _heading(page, "Sign in")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("main").get_by_role("button", name="Sign in").click()


async def _turn_on_two_factor(page: Page) -> str:
    """Set up 2FA from the security page; returns the secret the page shows."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    await _heading(page, "Security")
    await assert_accessible(page, "security")
    await page.get_by_role("button", name="Set up two-factor authentication").click()
    secret_text = await page.locator("#totp-secret").inner_text()
    secret = secret_text.replace(" ", "")
    await expect(page.locator("figure.qr svg")).to_be_visible()
    await assert_accessible(page, "two-factor set-up")
    await page.screenshot(path=str(SCREENSHOTS / "studyhall-2fa-setup.png"), full_page=True)
    await page.get_by_label("Authentication code").fill(current_code(secret))
    await page.get_by_role("button", name="Turn on two-factor authentication").click()
    return secret


async def _save_backup_codes(page: Page) -> list[str]:
    await _heading(page, "Save your backup codes")
    await assert_accessible(page, "backup codes")
    codes = await page.locator("#backup-codes code").all_inner_texts()
    assert len(codes) == 10
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download as a text file").click()
    download = await download_info.value
    saved = await asyncio.to_thread(Path(await download.path()).read_text)
    assert all(code in saved for code in codes)
    await page.get_by_role("link", name="I have saved them").click()
    await expect(page.get_by_text("unused backup codes")).to_be_visible()
    return codes


async def test_sign_up_verify_enable_two_factor_and_sign_in_again(
    page: Page, live_server: str, mailbox: Mailbox
) -> None:
    email = "erin@example.com"
    await _sign_up(page, mailbox, email, live_server)
    await assert_accessible(page, "sign-in")
    await _enter_password(page, email)
    await _heading(page, f"Welcome, {NAME}")
    await assert_accessible(page, "dashboard")

    secret = await _turn_on_two_factor(page)
    await _save_backup_codes(page)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").click()
    await _enter_password(page, email)
    await _heading(page, "Two-factor authentication")
    await assert_accessible(page, "two-factor sign-in")
    await page.get_by_label("Authentication code").fill("000000")
    await page.get_by_role("button", name="Verify and sign in").click()
    await expect(page.get_by_text("That code is not valid.").first).to_be_visible()
    await assert_accessible(page, "two-factor sign-in with an error")
    # The code of the next 30 s step: valid now and newer than the one that turned 2FA on.
    await page.get_by_label("Authentication code").fill(next_code(secret))
    await page.get_by_role("button", name="Verify and sign in").click()
    await _heading(page, f"Welcome, {NAME}")
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await page.screenshot(path=str(SCREENSHOTS / "studyhall-dashboard.png"), full_page=True)


async def test_forgotten_password_is_reset_by_email(
    page: Page, live_server: str, mailbox: Mailbox
) -> None:
    email = "rosa@example.com"
    await _sign_up(page, mailbox, email, live_server)
    await page.get_by_role("link", name="Forgot your password?").click()
    await _heading(page, "Reset your password")
    await assert_accessible(page, "forgot password")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_role("button", name="Send the reset link").click()
    await _heading(page, "Check your email")

    await page.goto(await _emailed_link(mailbox, email, "Reset", live_server))
    await _heading(page, "Choose a new password")
    await assert_accessible(page, "reset password")
    await page.get_by_label("New password", exact=True).fill("password123")
    await page.get_by_label("Repeat the new password").fill("password123")
    await page.get_by_role("button", name="Change password").click()
    await expect(page).to_have_title("Error: Choose a new password · Studyhall")
    await expect(page.get_by_label("New password", exact=True)).to_be_focused()
    await assert_accessible(page, "reset password with an error")
    await page.screenshot(path=str(SCREENSHOTS / "studyhall-reset-error.png"), full_page=True)

    new_password = "a fresh and long passphrase"
    await page.get_by_label("New password", exact=True).fill(new_password)
    await page.get_by_label("Repeat the new password").fill(new_password)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your password was changed. Sign in with your new password."
    )
    await _enter_password(page, email, new_password)
    await _heading(page, f"Welcome, {NAME}")


async def test_security_page_signs_out_another_session_with_htmx(
    page: Page, browser: Browser, live_server: str, mailbox: Mailbox
) -> None:
    email = "sam@example.com"
    await _sign_up(page, mailbox, email, live_server)
    await _enter_password(page, email)
    await _heading(page, f"Welcome, {NAME}")
    second = await browser.new_context(base_url=live_server)
    try:
        other = await second.new_page()
        await other.goto("/login")
        await _enter_password(other, email)
        await _heading(other, f"Welcome, {NAME}")

        await page.goto("/account/security")
        sessions = page.locator("#session-list .session")
        await expect(sessions).to_have_count(2)
        other_session = page.locator("#session-list").get_by_role(
            "button", name=re.compile("^Sign out Chrome")
        )
        await other_session.click()
        await expect(page.locator("#sessions-status")).to_have_text("That session was signed out.")
        await expect(sessions).to_have_count(1)
        await expect(page.locator("#sessions-title")).to_be_focused()
        # Without JavaScript the page would reload with ?notice=…: this was an HTMX swap.
        await expect(page).to_have_url(re.compile(r"/account/security$"))
        await other.reload()
        await _heading(other, "Sign in")
    finally:
        await second.close()
