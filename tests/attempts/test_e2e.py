"""In a real browser: a student builds a timed custom test, answers some questions (the last
ones while offline), closes the page, reopens it, recovers the answers, submits and reviews.

The `page` fixture runs under the production Content-Security-Policy and fails the test on any
script error; axe-core checks the player and the review."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import BrowserContext, Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import UserStats
from studyhall.core.db import utcnow
from tests.attempts.conftest import API, Bank, new_question, set_attempt, single_choice
from tests.conftest import PASSWORD, SignedInUser, wait_until
from tests.web.support import assert_accessible

pytestmark = pytest.mark.e2e

TEXT_ANSWERS = {"short_answer": "aorta", "numerical": "100"}


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("main").get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).not_to_have_text("Sign in")


def current_question(page: Page) -> Locator:
    return page.locator("section.question:visible")


async def answer_current(page: Page) -> str:
    """Answer the shown question (first option, or a text answer); returns its type."""
    section = current_question(page)
    await expect(section).to_have_count(1)
    kind = await section.get_attribute("data-type") or ""
    if kind in TEXT_ANSWERS:
        field = section.get_by_label(re.compile("^Your answer"))
        await field.fill(TEXT_ANSWERS[kind])
        await field.press("Tab")  # the change event saves at once
    else:
        await section.locator(".option label").first.click()
    return kind


def watch(tab: Page, problems: list[str]) -> None:
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )


async def test_timed_test_survives_closing_the_page(
    app: FastAPI,
    client: httpx.AsyncClient,
    page: Page,
    browser_context: BrowserContext,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    await sign_in(page, learner.email)
    await page.goto("/tests/new")
    await assert_accessible(page, "test builder")
    await page.get_by_label("Number of questions").fill("5")
    await page.get_by_label("All", exact=True).check()
    await page.get_by_label("Timed", exact=True).check()
    await page.get_by_role("button", name="Start the test").click()
    await expect(page).to_have_url(re.compile(r"/attempts/[0-9a-f-]{36}"))
    attempt_path = re.sub(r"^https?://[^/]+", "", page.url).split("#")[0]
    attempt_id = attempt_path.rsplit("/", 1)[1]

    # One question at a time, a running clock from the server's deadline.
    await expect(current_question(page)).to_have_count(1)
    await expect(page.locator("#timer-value")).to_have_text(re.compile(r"^[0-9]{1,2}:[0-5][0-9]$"))
    await assert_accessible(page, "player")

    status = page.locator("#save-status")
    await answer_current(page)
    await expect(status).to_contain_text("All answers saved")

    # The connection drops: the next answers stay on the device.
    await browser_context.set_offline(True)
    await page.get_by_role("button", name="Next question").click()
    await expect(page.get_by_role("heading", name=re.compile("^Question 2"))).to_be_focused()
    await answer_current(page)
    await page.get_by_role("button", name="Next question").click()
    await answer_current(page)
    await current_question(page).get_by_label("Mark question 3 for review").check()
    await expect(status).to_contain_text("offline")
    await expect(page.locator('.qnav__link[data-position="2"]')).to_have_class(
        re.compile("is-marked")
    )

    saved = await client.get(f"{API}/attempts/{attempt_id}/progress", headers=learner.headers)
    assert sum(answer is not None for answer in saved.json()["answers"].values()) == 1

    # The tab is closed; later the student comes back online and reopens the test. Closing
    # detaches the tab from Playwright before its document is gone, which lifts the tab's
    # emulated offline state (and any route) while its scripts can still run: Chromium then
    # fires "online" in the closed page. The player starts no save after pagehide, so the
    # answers stay on the device only.
    await page.close()
    await browser_context.set_offline(False)
    problems: list[str] = []
    tab = await browser_context.new_page()
    watch(tab, problems)
    await tab.goto(attempt_path)
    recovery = tab.get_by_role("alert").filter(has_text="Unsaved answers found")
    await expect(recovery).to_be_visible()
    await expect(recovery).to_contain_text("2 questions (number 2, 3)")
    await recovery.get_by_role("button", name="Recover my answers").click()
    await expect(tab.locator("#save-status")).to_contain_text("All answers saved")
    await expect(recovery).to_be_hidden()

    saved = await client.get(f"{API}/attempts/{attempt_id}/progress", headers=learner.headers)
    state = saved.json()
    assert sum(answer is not None for answer in state["answers"].values()) == 3
    assert state["marks"]["2"] is True

    # Reloading now offers nothing: the server has it all.
    await tab.reload()
    await expect(tab.locator("#recovery")).to_be_hidden()
    await expect(tab.locator('.qnav__link[data-position="1"]')).to_have_class(
        re.compile("is-answered")
    )

    await tab.get_by_role("link", name="Submit test…").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Submit this test?")
    await expect(tab.get_by_text("3 of 5")).to_be_visible()
    await assert_accessible(tab, "submit confirmation")
    await tab.get_by_role("button", name="Submit now").click()
    await expect(tab.get_by_role("heading", level=1)).to_contain_text("Review:")
    await expect(tab.locator(".result")).to_contain_text("3 of 5")
    await expect(tab.locator(".review-item")).to_have_count(5)
    await expect(tab.locator(".feedback__explanation").first).to_be_visible()
    await assert_accessible(tab, "review")
    local = await tab.evaluate(f"() => localStorage.getItem('studyhall:attempt:{attempt_id}')")
    assert local is None
    assert not problems, "\n".join(problems)

    # The server's in-process worker delivers attempt.submitted right after the commit.
    async def analytics_counted_it() -> bool:
        async with app.state.sessionmaker() as session:
            stats = await session.get(UserStats, uuid.UUID(learner.id))
        return stats is not None and stats.answered == 3

    await wait_until(analytics_counted_it)


async def test_tutor_mode_checks_each_answer(
    client: httpx.AsyncClient, page: Page, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await new_question(client, teacher, single_choice())
    await new_question(client, teacher, single_choice("Which chamber receives the venae cavae?"))
    await sign_in(page, learner.email)
    await page.goto("/tests/new")
    await page.get_by_label("Number of questions").fill("2")
    await page.get_by_label("Tutor", exact=True).check()
    await page.get_by_role("button", name="Start the test").click()
    await expect(page.locator("#timer")).to_have_count(0)  # tutor mode is untimed

    section = current_question(page)
    await expect(section).to_have_count(1)
    await section.get_by_label(re.compile("Right ventricle")).check()
    await section.get_by_role("button", name="Check answer").click()
    section = current_question(page)
    await expect(section.locator(".feedback__verdict")).to_have_text("Incorrect")
    await expect(section.locator(".feedback")).to_contain_text("Correct answer")
    await expect(section.get_by_label(re.compile("Left ventricle"))).to_be_disabled()
    await expect(page.locator("#save-status")).to_contain_text("All answers saved")
    await assert_accessible(page, "tutor feedback")

    # Reloading shows the checked answer with its feedback; the other is still open.
    await page.reload()
    await expect(current_question(page).locator(".feedback__verdict")).to_have_text("Incorrect")
    await page.get_by_role("button", name="Next question").click()
    await expect(current_question(page).get_by_role("button", name="Check answer")).to_be_visible()


async def test_offline_answers_sync_when_back_and_time_running_out_submits(
    client: httpx.AsyncClient,
    db: AsyncSession,
    page: Page,
    browser_context: BrowserContext,
    teacher: SignedInUser,
    learner: SignedInUser,
) -> None:
    await new_question(client, teacher, single_choice())
    await sign_in(page, learner.email)
    await page.goto("/tests/new")
    await page.get_by_label("Number of questions").fill("1")
    await page.get_by_label("Timed", exact=True).check()
    await page.get_by_role("button", name="Start the test").click()
    await expect(page).to_have_url(re.compile(r"/attempts/[0-9a-f-]{36}"))
    attempt_id = page.url.split("#")[0].rsplit("/", 1)[1]
    await expect(current_question(page)).to_have_count(1)
    await current_question(page).get_by_label(re.compile("Right ventricle")).check()
    status = page.locator("#save-status")
    await expect(status).to_contain_text("All answers saved")

    # A change made offline is sent as soon as the connection returns, without a reload.
    await browser_context.set_offline(True)
    await current_question(page).get_by_label(re.compile("Left ventricle")).check()
    await expect(status).to_contain_text("1 question kept on this device")
    await browser_context.set_offline(False)
    await expect(status).to_contain_text("All answers saved")
    progress = await client.get(f"{API}/attempts/{attempt_id}/progress", headers=learner.headers)
    chosen = progress.json()["answers"]["0"]["choice"]
    shown = (
        await current_question(page)
        .get_by_label(re.compile("Left ventricle"))
        .get_attribute("value")
    )
    assert chosen == shown

    # Three seconds are left: the page counts down, then submits by itself.
    await set_attempt(db, attempt_id, deadline_at=utcnow() + timedelta(seconds=3))
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Review:")
    await expect(page.locator(".result")).to_contain_text("1 of 1")


# Counts the saves the player starts from now on (it looks `fetch` up at each call).
COUNT_SAVES = """() => {
    window.savesStarted = 0;
    const send = window.fetch;
    window.fetch = function (...args) { window.savesStarted += 1; return send.apply(this, args); };
    window.addEventListener("online", () => { window.onlineHandled = true; });
}"""


async def test_a_page_put_away_starts_no_save_until_it_is_shown_again(
    client: httpx.AsyncClient,
    page: Page,
    browser_context: BrowserContext,
    teacher: SignedInUser,
    learner: SignedInUser,
) -> None:
    await new_question(client, teacher, single_choice())
    await sign_in(page, learner.email)
    await page.goto("/tests/new")
    await page.get_by_label("Number of questions").fill("1")
    await page.get_by_role("button", name="Start the test").click()
    await expect(page).to_have_url(re.compile(r"/attempts/[0-9a-f-]{36}"))
    attempt_id = page.url.split("#")[0].rsplit("/", 1)[1]
    await browser_context.set_offline(True)
    await current_question(page).get_by_label(re.compile("Right ventricle")).check()
    status = page.locator("#save-status")
    await expect(status).to_contain_text("1 question kept on this device")

    # Put away (pagehide, as on closing the tab or entering the back/forward cache), the page
    # does not answer the connection's return: the local copy waits for the next visit. The
    # listener added here runs after the player's, which would have called fetch by then.
    await page.evaluate(COUNT_SAVES)
    await page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    await browser_context.set_offline(False)
    await page.wait_for_function("() => window.onlineHandled === true")
    assert await page.evaluate("() => window.savesStarted") == 0
    progress = await client.get(f"{API}/attempts/{attempt_id}/progress", headers=learner.headers)
    assert progress.json()["answers"]["0"] is None

    # Brought back from the back/forward cache, it sends what waited.
    await page.evaluate(
        "() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))"
    )
    await expect(status).to_contain_text("All answers saved")
    progress = await client.get(f"{API}/attempts/{attempt_id}/progress", headers=learner.headers)
    assert progress.json()["answers"]["0"] is not None
