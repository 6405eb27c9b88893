"""In a real browser (Debian's chromium): the performance page with its charts, the
leaderboards and item analysis, each checked with axe-core under the production CSP."""

from __future__ import annotations

import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import Role
from studyhall.analytics import service
from studyhall.core.db import utcnow
from tests.analytics.conftest import (
    add_quiz,
    add_users,
    items,
    new_user,
    question_via_api,
    record,
    sit_quiz,
)
from tests.conftest import PASSWORD, MakeVerifiedUser, wait_until
from tests.web.support import assert_accessible

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(tempfile.gettempdir())


async def _sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("main").get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


async def test_performance_and_leaderboards_in_a_browser(page: Page, db: AsyncSession) -> None:
    teacher = new_user("teacher@example.com", "Tess Teacher", (Role.TEACHER,))
    db.add(teacher)
    await db.commit()
    (rival,) = await add_users(db, "Rival")
    quiz = await add_quiz(db, "Cardiology basics")
    now = utcnow()
    for days_ago, (answered, correct, subject) in enumerate(
        [(8, 6, "Physiology"), (5, 2, "Pathology"), (0, 0, ""), (6, 6, "Anatomy")]
    ):
        if answered:
            await record(
                db,
                teacher.id,
                items(answered, correct, subject=subject, seconds_each=40 + days_ago),
                submitted_at=now - timedelta(days=days_ago * 2),
                quiz_id=quiz,
            )
    await record(db, rival, items(10, 5), quiz_id=quiz)

    await _sign_in(page, "teacher@example.com")
    await page.goto("/dashboard/performance")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your performance")
    await expect(page.get_by_role("img", name="Accuracy by subject")).to_be_visible()
    await expect(page.get_by_role("img", name="Your percentiles")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "analytics-performance.png"), full_page=True)
    await assert_accessible(page, "performance")

    subjects = page.get_by_role("figure", name="Accuracy by subject")
    await subjects.get_by_text("Show the numbers as a table").click()
    table = subjects.get_by_role("table")
    await expect(table.get_by_role("row", name="Anatomy")).to_contain_text("100%")
    await expect(table.get_by_role("row", name="Pathology")).to_contain_text("40%")

    await page.get_by_role("link", name="Last 12 weeks").click()
    await expect(page.get_by_role("link", name="Last 12 weeks")).to_have_attribute(
        "aria-current", "page"
    )
    await assert_accessible(page, "weekly performance")

    await page.get_by_role("link", name="See the leaderboards").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Leaderboards")
    await page.get_by_role("link", name="All time").click()
    await expect(page.get_by_role("row", name="Tess Teacher You")).to_contain_text("14")
    await assert_accessible(page, "leaderboards")
    await page.get_by_label("Quiz", exact=True).select_option(label="Cardiology basics")
    await page.get_by_role("button", name="Show leaderboard").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Leaderboard: Cardiology basics"
    )
    await assert_accessible(page, "quiz leaderboard")


async def test_item_analysis_in_a_browser(
    page: Page, app: FastAPI, client: httpx.AsyncClient, verified_user: MakeVerifiedUser
) -> None:
    teacher = await verified_user("teacher@example.com", (Role.TEACHER,), name="Tess Teacher")
    question = await question_via_api(
        client,
        teacher,
        {
            "type": "single_choice",
            "stem": "Which chamber pumps blood into the **aorta**?",
            "options": [
                {"text": "Left ventricle", "correct": True},
                {"text": "Right ventricle"},
                {"text": "Left atrium"},
            ],
        },
    )
    created = await client.post(
        "/api/v1/quizzes",
        json={"title": "Heart", "question_ids": [question]},
        headers=teacher.headers,
    )
    quiz_id = created.json()["id"]
    await client.post(f"/api/v1/quizzes/{quiz_id}/publish", headers=teacher.headers)
    for name, choice in (("ann", "a"), ("bob", "a"), ("cy", "b"), ("dee", "c")):
        student = await verified_user(f"{name}@example.com")
        await sit_quiz(client, student, quiz_id, [choice])

    # No delivery by hand: the in-process worker delivers each submission after its commit.
    async def all_four_recorded() -> bool:
        async with app.state.sessionmaker() as session:
            rows = await service.responses_for_question(session, uuid.UUID(question))
        return len(rows) == 4

    await wait_until(all_four_recorded)

    await _sign_in(page, "teacher@example.com")
    await page.goto(f"/questions/{question}/analysis")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Item analysis")
    await expect(page.get_by_role("img", name="How often each option was picked")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "analytics-items.png"), full_page=True)
    await assert_accessible(page, "item analysis")
    overall = page.get_by_role("region", name="All versions together")
    await expect(overall).to_contain_text("50%")
    await expect(overall).to_contain_text("1.00")
