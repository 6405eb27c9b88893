"""In a real browser: a teacher writes, illustrates and publishes a question; a student finds it.

Every page is checked with axe-core under the production Content-Security-Policy (the `page`
fixture fails the test on any script error or CSP violation).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from studyhall.accounts.models import Role
from tests.conftest import PASSWORD, MakeVerifiedUser
from tests.questions.test_images import PNG
from tests.web.conftest import (  # noqa: F401 (fixtures shared with the web tests)
    browser,
    browser_context,
    live_server,
    page,
)
from tests.web.support import AXE_SCRIPT, AXE_URL_PATH, assert_accessible

pytestmark = pytest.mark.e2e


async def _sign_in(tab: Page, email: str, next_path: str) -> None:
    await tab.goto(f"/login?next={next_path}")
    await tab.get_by_label("Email address").fill(email)
    await tab.get_by_label("Password", exact=True).fill(PASSWORD)
    await tab.get_by_role("main").get_by_role("button", name="Sign in").click()


@pytest.fixture
async def student_tab(browser: Browser, live_server: str) -> AsyncIterator[Page]:  # noqa: F811
    context = await browser.new_context(base_url=live_server)
    await context.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_SCRIPT, content_type="text/javascript"),
    )
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield tab
    await context.close()
    assert not problems, problems


async def test_teacher_publishes_an_illustrated_question_and_a_student_finds_it(
    page: Page,  # noqa: F811
    student_tab: Page,
    verified_user: MakeVerifiedUser,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    await verified_user("tess@example.com", (Role.TEACHER,))
    await verified_user("stu@example.com", (Role.STUDENT,))

    await _sign_in(page, "tess@example.com", "/questions")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Question bank")
    await assert_accessible(page, "empty question bank")
    await page.get_by_role("link", name="New question").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New question")
    await assert_accessible(page, "question editor")

    # The editor shows the parts the chosen type uses.
    answers = page.get_by_label("Accepted answers, one per line")
    await expect(answers).to_be_hidden()
    await page.get_by_label("Question type").select_option("short_answer")
    await expect(answers).to_be_visible()
    await expect(page.get_by_label("Text of option 1")).to_be_hidden()
    await page.get_by_label("Question type").select_option("true_false")
    await expect(page.get_by_label("Text of option 1")).to_have_value("True")
    await expect(page.get_by_label("Text of option 2")).to_have_value("False")
    await page.get_by_label("Question type").select_option("single_choice")

    # Saving without a correct option shows the problem next to the options.
    await page.get_by_label("Question", exact=True).fill(
        "Which vessel carries **oxygenated** blood?"
    )
    await page.get_by_label("Text of option 1").fill("Pulmonary artery")
    await page.get_by_label("Text of option 2").fill("Pulmonary vein")
    await page.get_by_role("button", name="Save draft").click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("exactly one correct option")
    await assert_accessible(page, "question editor with errors")
    await summary.get_by_role("link").click()

    # Spare option rows appear one at a time; single choice keeps one tick.
    await expect(page.get_by_label("Text of option 4")).to_be_hidden()
    await page.get_by_role("button", name="Add an option").click()
    await expect(page.get_by_label("Text of option 3")).to_be_focused()
    await page.get_by_label("Text of option 3").fill("Aorta")
    await page.get_by_label("Option 1 is correct").check()
    await page.get_by_label("Option 2 is correct").check()
    await expect(page.get_by_label("Option 1 is correct")).not_to_be_checked()
    await page.get_by_label("Why option 2 is right or wrong (optional)").fill(
        "It returns blood from the lungs."
    )
    await page.get_by_label("Subject").fill("Anatomy")
    await page.get_by_label("System").fill("Cardiovascular")
    await page.get_by_label("Tags").fill("vessels, circulation")
    await page.get_by_role("button", name="Save draft").click()

    await expect(page.get_by_role("status").first).to_contain_text("Question saved as a draft")
    await expect(page.locator(".question-stem strong")).to_have_text("oxygenated")
    await assert_accessible(page, "question page (author)")
    question_url = page.url.split("?")[0]

    # Upload an image and use it in the explanation.
    image_file = tmp_path_factory.mktemp("upload") / "heart.png"
    image_file.write_bytes(PNG)
    await page.get_by_label("Image file").set_input_files(str(image_file))
    await page.get_by_role("button", name="Upload image").click()
    await expect(page.get_by_role("status").first).to_contain_text("Image uploaded")
    markdown = await page.get_by_label("Markdown for heart.png").input_value()
    assert re.fullmatch(r"!\[heart\]\(/api/v1/questions/[0-9a-f-]+/images/[0-9a-f-]+\)", markdown)
    await expect(page.locator("img.image-item__preview")).to_have_js_property("naturalWidth", 1)
    await assert_accessible(page, "question page with an image")

    await page.get_by_role("link", name="Edit", exact=True).click()
    await page.get_by_label("Explanation (optional)").fill(f"See the diagram.\n\n{markdown}")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").first).to_contain_text("Changes saved")
    await page.get_by_role("button", name="Publish", exact=True).click()
    await expect(page.get_by_role("status").first).to_contain_text("Published")

    # The student searches the bank (results update as they type) and opens the question.
    await _sign_in(student_tab, "stu@example.com", "/questions")
    await expect(student_tab.get_by_role("heading", level=1)).to_have_text("Question bank")
    await student_tab.get_by_label("Search text").fill("oxygenated")
    await expect(student_tab.locator("#bank-count")).to_have_text("1 question found.")
    await expect(student_tab).to_have_url(re.compile(r"/questions\?text=oxygenated$"))
    await assert_accessible(student_tab, "question bank search")
    await student_tab.get_by_label("Search text").fill("nothing like this")
    await expect(student_tab.locator("#bank-count")).to_have_text("0 questions found.")
    await student_tab.get_by_label("Search text").fill("oxygenated")
    await student_tab.get_by_role("link", name=re.compile("Which vessel carries")).click()
    await expect(student_tab).to_have_url(question_url)
    await expect(student_tab.get_by_text("Pulmonary vein")).to_be_visible()
    # No answer, no explanation (and so no image) before answering in a test.
    await expect(student_tab.get_by_text("Correct", exact=True)).to_have_count(0)
    await expect(student_tab.get_by_text("It returns blood from the lungs.")).to_have_count(0)
    await expect(student_tab.get_by_role("button", name="Publish")).to_have_count(0)
    await assert_accessible(student_tab, "question page (student)")
    image_url = markdown.split("(", 1)[1].rstrip(")")
    response = await student_tab.request.get(image_url)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
