"""In a real browser: a teacher builds a quiz with the keyboard, a student finds it.

axe-core checks every page (serious and critical violations fail) under the production
Content-Security-Policy (the `page` fixture fails the test on any violation or script error).
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import PASSWORD, SignedInUser
from tests.quizzes.conftest import new_question
from tests.web.support import AXE_SCRIPT, AXE_URL_PATH, assert_accessible

pytestmark = pytest.mark.e2e


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("main").get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).not_to_have_text("Sign in")


async def test_teacher_builds_a_quiz_and_a_student_finds_it(
    client: httpx.AsyncClient,
    page: Page,
    browser: Browser,
    live_server: str,
    teacher: SignedInUser,
    learner: SignedInUser,
) -> None:
    await new_question(client, teacher, "Which valve sits between the left chambers?")
    await new_question(client, teacher, "Which chamber has the thickest wall?")
    await new_question(client, teacher, "What does the SA node do?")

    await sign_in(page, teacher.email)
    await page.goto("/quizzes")
    await assert_accessible(page, "quiz list (empty)")
    await page.get_by_role("link", name="New quiz").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New quiz")
    await assert_accessible(page, "new quiz")
    await page.get_by_label("Title").fill("Heart chambers")
    await page.get_by_label("Pass mark (%)").fill("150")
    await page.get_by_role("button", name="Create the quiz").click()
    await expect(page.get_by_role("alert")).to_contain_text("Enter a pass mark from 0 to 100.")
    await assert_accessible(page, "new quiz with errors")
    await page.get_by_label("Pass mark (%)").fill("70")
    await page.get_by_label("Time limit in minutes (optional)").fill("15")
    await page.get_by_label("After each question").check()
    await page.get_by_role("button", name="Create the quiz").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Heart chambers”")
    await assert_accessible(page, "quiz editor")

    # Search the bank (HTMX) and add two questions.
    await page.get_by_label("Search the bank").fill("chamber")
    picker = page.locator("#picker-results")
    await expect(picker.locator(".picker-item")).to_have_count(2)
    questions = page.locator("#quiz-questions .quiz-question")
    await picker.get_by_role("button", name="Add “Which chamber has").click()
    await expect(questions).to_have_count(1)
    await picker.get_by_role("button", name="Add “Which valve sits").click()
    await expect(questions).to_have_count(2)
    await expect(page.locator("#questions-status")).to_have_text("Question added as number 2.")
    await expect(questions.first).to_contain_text("thickest wall")

    # Reorder with the keyboard: focus stays on the moved question's button.
    await page.get_by_role("button", name="Move down question 1").focus()
    await page.keyboard.press("Enter")
    await expect(questions.first).to_contain_text("Which valve sits")
    await expect(page.locator("#questions-status")).to_have_text("Moved to position 2 of 2.")
    await expect(page.get_by_role("button", name="Move up question 2")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(questions.first).to_contain_text("thickest wall")
    await expect(page.get_by_role("button", name="Move down question 1")).to_be_focused()
    await assert_accessible(page, "quiz editor with questions")

    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Heart chambers")
    await expect(page.get_by_role("status")).to_contain_text("Published")
    await assert_accessible(page, "quiz detail (author)")

    # The student, in a browser of their own (same axe route and CSP watch as `page`).
    student = await browser.new_context(base_url=live_server)
    await student.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_SCRIPT, content_type="text/javascript"),
    )
    problems: list[str] = []
    try:
        tab = await student.new_page()
        tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        tab.on(
            "console",
            lambda message: (
                problems.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        await sign_in(tab, learner.email)
        await tab.goto("/quizzes")
        await tab.get_by_label("Search quizzes").fill("chambers")
        await expect(tab.locator("#quiz-count")).to_have_text("1 quiz found")
        await assert_accessible(tab, "quiz list")
        await expect(tab.get_by_role("button", name="Start Heart chambers")).to_be_visible()
        await tab.get_by_role("link", name="Heart chambers").click()
        await expect(tab.get_by_role("heading", level=1)).to_have_text("Heart chambers")
        facts = tab.locator(".quiz-facts")
        await expect(facts).to_contain_text("15 minutes from the moment you start")
        await expect(facts).to_contain_text("2 questions.")
        await expect(facts).to_contain_text("After each question you see whether you were right")
        await expect(tab.get_by_role("button", name="Start the quiz")).to_be_visible()
        await assert_accessible(tab, "quiz detail")
    finally:
        await student.close()
    assert not problems, "\n".join(problems)
