"""The analytics pages over HTTP: performance with charts and tables, leaderboards, item
analysis; sign-in and authorship rules."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import Role
from studyhall.core.db import utcnow
from tests.analytics.conftest import add_quiz, add_users, as_uuid, items, record
from tests.conftest import MakeVerifiedUser, SignedInUser
from tests.web.support import HTML, web_sign_in


async def _browser_session(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await web_sign_in(client, user.email)
    assert response.status_code == 303, response.text


def _assert_page_rules(html: str) -> None:
    assert "style=" not in html, "inline styles are blocked by the CSP"
    assert "<script>" not in html, "inline scripts are blocked by the CSP"


async def test_performance_page_draws_charts_with_tables(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    me = await verified_user("me@example.com", name="Mia")
    (rival,) = await add_users(db, "Rival")
    now = utcnow()
    await record(db, as_uuid(me), items(4, 3, subject="Physiology", system="Renal"))
    await record(
        db,
        as_uuid(me),
        items(2, 1, subject="Anatomy", system="Cardiovascular"),
        submitted_at=now - timedelta(days=3),
    )
    await record(db, rival, items(5, 1))
    await _browser_session(client, me)

    response = await client.get("/dashboard/performance", headers=HTML)
    assert response.status_code == 200, response.text
    html = response.text
    _assert_page_rules(html)
    assert "<h1>Your performance</h1>" in html
    # Accuracy by subject: an SVG image with a text alternative and the numbers as a table.
    assert re.search(r'<svg class="chart__svg"[^>]*role="img"', html)
    assert '<title id="chart-subjects-title">Accuracy by subject</title>' in html
    assert "<summary>Show the numbers as a table</summary>" in html
    assert '<th scope="row">Physiology</th><td>75%</td>' in html
    assert '<th scope="row">Anatomy</th><td>50%</td>' in html
    # The percentile ranking and the trend (4 answers today, 2 three days ago).
    assert "Your percentiles" in html
    assert '<th scope="row">Accuracy</th><td>100%</td>' in html
    assert '<path class="chart__line"' in html
    today_label = now.strftime("%d %b")
    assert f'<th scope="row">{today_label}</th><td>4</td><td>75%</td>' in html
    assert 'href="/leaderboards"' in html

    weekly = await client.get("/dashboard/performance?trend=week", headers=HTML)
    assert weekly.status_code == 200 and "Last 12 weeks</a>" in weekly.text
    assert 'href="/dashboard/performance?trend=week" aria-current="page"' in weekly.text
    lenient = await client.get("/dashboard/performance?trend=fortnight", headers=HTML)
    assert lenient.status_code == 200

    panel = await client.get("/dashboard/performance/panel", headers={"hx-request": "true"})
    assert panel.status_code == 200
    assert panel.text.lstrip().startswith("<section") and "<html" not in panel.text
    assert "Accuracy by subject" in panel.text


async def test_empty_performance_page(
    client: httpx.AsyncClient, verified_user: MakeVerifiedUser
) -> None:
    me = await verified_user("new@example.com")
    await _browser_session(client, me)
    response = await client.get("/dashboard/performance", headers=HTML)
    assert response.status_code == 200
    assert "No answers yet." in response.text and "Answer a question to be ranked." in response.text


async def test_pages_need_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/dashboard/performance", "/leaderboards", f"/questions/{uuid.uuid4()}/analysis"):
        response = await client.get(path, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_leaderboard_pages(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    me = await verified_user("me@example.com", name="Mia")
    (rival,) = await add_users(db, "Rival")
    quiz = await add_quiz(db, "Renal <basics>")
    await record(db, as_uuid(me), items(3, 3), quiz_id=quiz, percent=100, time_spent_seconds=90)
    await record(db, rival, items(5, 4), quiz_id=quiz, percent=80)
    await _browser_session(client, me)

    response = await client.get("/leaderboards?period=all", headers=HTML)
    assert response.status_code == 200, response.text
    html = response.text
    _assert_page_rules(html)
    assert 'href="/leaderboards?period=all" aria-current="page"' in html
    assert html.index("Rival") < html.index("Mia")  # 4 correct before 3
    assert '<span class="badge">You</span>' in html
    assert "Renal &lt;basics&gt;" in html  # the quiz picker, escaped

    picked = await client.get(f"/leaderboards/quizzes?quiz={quiz}")
    assert (
        picked.status_code == 303 and picked.headers["location"] == f"/leaderboards/quizzes/{quiz}"
    )
    board = await client.get(f"/leaderboards/quizzes/{quiz}", headers=HTML)
    assert board.status_code == 200
    assert "Leaderboard: Renal &lt;basics&gt;" in board.text
    assert board.text.index("Mia") < board.text.index("Rival")  # 100% before 80%
    assert "100.0%" in board.text and "90 s" in board.text

    missing = await client.get(f"/leaderboards/quizzes/{uuid.uuid4()}", headers=HTML)
    assert missing.status_code == 404
    nonsense = await client.get("/leaderboards?period=decade&page=x&on=never", headers=HTML)
    assert nonsense.status_code == 200  # unknown values fall back to the defaults
    for board_path in ("/leaderboards", f"/leaderboards/quizzes/{quiz}"):
        for period in ("day", "week", "month"):
            beyond = await client.get(f"{board_path}?period={period}&on=9999-12-31", headers=HTML)
            assert beyond.status_code == 422, (board_path, period)
            assert beyond.headers["content-type"].startswith("text/html")
            assert "pick an earlier day" in beyond.text


async def test_item_analysis_page_is_for_the_author(
    client: httpx.AsyncClient, verified_user: MakeVerifiedUser
) -> None:
    teacher = await verified_user("teacher@example.com", (Role.TEACHER,))
    created = await client.post(
        "/api/v1/questions",
        json={
            "type": "single_choice",
            "stem": "Which **valve** closes first?",
            "options": [{"text": "Mitral", "correct": True}, {"text": "Aortic"}],
        },
        headers=teacher.headers,
    )
    question = created.json()["id"]
    await _browser_session(client, teacher)
    response = await client.get(f"/questions/{question}/analysis", headers=HTML)
    assert response.status_code == 200, response.text
    _assert_page_rules(response.text)
    assert "<strong>valve</strong>" in response.text
    assert "No one has answered this question" in response.text

    student = await verified_user("student@example.com")
    client.cookies.clear()
    await _browser_session(client, student)
    refused = await client.get(f"/questions/{question}/analysis", headers=HTML)
    # As the API answers (analytics.actions.item_analysis): a role rule, before any lookup.
    assert refused.status_code == 403
