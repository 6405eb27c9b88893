"""Global leaderboards per day, week, month and all time; per-quiz boards; the API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import service
from studyhall.analytics.schemas import LeaderboardPeriod, PeriodWindow
from studyhall.core.pagination import PageParams
from tests.analytics.conftest import API, add_quiz, add_users, as_uuid, items, record
from tests.conftest import MakeVerifiedUser

TODAY = date(2026, 3, 18)  # a Wednesday: its ISO week is 16-22 March


def at(day: int, month: int = 3, year: int = 2026, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_period_windows() -> None:
    window = service.period_window
    assert window(LeaderboardPeriod.DAY, TODAY) == PeriodWindow(
        period=LeaderboardPeriod.DAY, first_day=TODAY, last_day=TODAY
    )
    week = window(LeaderboardPeriod.WEEK, TODAY)
    assert (week.first_day, week.last_day) == (date(2026, 3, 16), date(2026, 3, 22))
    sunday = window(LeaderboardPeriod.WEEK, date(2026, 3, 22))
    assert sunday.first_day == date(2026, 3, 16)
    february = window(LeaderboardPeriod.MONTH, date(2028, 2, 10))
    assert (february.first_day, february.last_day) == (date(2028, 2, 1), date(2028, 2, 29))
    assert window(LeaderboardPeriod.ALL, TODAY).first_day is None


async def _global(db: AsyncSession, period: LeaderboardPeriod, page: int = 1, per_page: int = 20):  # type: ignore[no-untyped-def]
    board = await service.global_leaderboard(
        db, period, PageParams(page=page, per_page=per_page), on=TODAY
    )
    return board, [(entry.rank, entry.name, entry.correct, entry.answered) for entry in board.items]


async def test_global_boards_per_period(db: AsyncSession) -> None:
    ana, ben, cai, dov, eli = await add_users(db, "Ana", "Ben", "Cai", "Dov", "Eli")
    await record(db, ana, items(6, 5), submitted_at=at(18))  # today
    await record(db, ana, items(10, 10), submitted_at=at(2))  # this month, earlier week
    await record(db, ben, items(10, 7), submitted_at=at(16, hour=0))  # this week, Monday 00:00
    await record(db, ben, items(20, 20), submitted_at=at(28, month=2))  # last month
    await record(db, cai, items(5, 5), submitted_at=at(18, hour=23))  # today
    await record(db, dov, items(6, 5), submitted_at=at(18, hour=0))  # today, tied with Ana
    await record(db, eli, items(6, 5), submitted_at=at(1, month=12, year=2025))

    board, rows = await _global(db, LeaderboardPeriod.DAY)
    # Same correct count; Cai's accuracy breaks the tie; Ana and Dov tie completely.
    assert rows[0] == (1, "Cai", 5, 5)
    assert sorted(rows[1:]) == [(2, "Ana", 5, 6), (2, "Dov", 5, 6)]
    assert board.total == 3 and board.window.first_day == TODAY == board.window.last_day

    _, rows = await _global(db, LeaderboardPeriod.WEEK)
    assert rows[:2] == [(1, "Ben", 7, 10), (2, "Cai", 5, 5)]
    assert sorted(rows[2:]) == [(3, "Ana", 5, 6), (3, "Dov", 5, 6)]

    _, rows = await _global(db, LeaderboardPeriod.MONTH)
    assert rows == [(1, "Ana", 15, 16), (2, "Ben", 7, 10), (3, "Cai", 5, 5), (4, "Dov", 5, 6)]

    board, rows = await _global(db, LeaderboardPeriod.ALL)
    assert rows[:3] == [(1, "Ben", 27, 30), (2, "Ana", 15, 16), (3, "Cai", 5, 5)]
    assert sorted(rows[3:]) == [(4, "Dov", 5, 6), (4, "Eli", 5, 6)]
    assert board.total == 5 and board.window.first_day is None
    assert board.items[0].accuracy == 27 / 30

    # Pages carry true ranks: the tie continues across the page boundary.
    board, rows = await _global(db, LeaderboardPeriod.ALL, page=2, per_page=4)
    assert len(rows) == 1 and rows[0][0] == 4 and board.total == 5
    _, rows = await _global(db, LeaderboardPeriod.ALL, page=2, per_page=1)
    assert rows == [(2, "Ana", 15, 16)]
    _, rows = await _global(db, LeaderboardPeriod.DAY, page=2, per_page=2)
    assert rows[0][0] == 2 and len(rows) == 1
    board, rows = await _global(db, LeaderboardPeriod.DAY, page=3, per_page=2)
    assert rows == [] and board.total == 3


async def test_quiz_board_takes_each_users_best_attempt_in_the_period(db: AsyncSession) -> None:
    ana, ben, cai = await add_users(db, "Ana", "Ben", "Cai")
    quiz, other_quiz = await add_quiz(db), await add_quiz(db, "Renal")

    async def sit(user: uuid.UUID, percent: float, seconds: int, when: datetime) -> None:
        await record(
            db,
            user,
            items(2, 1),
            quiz_id=quiz,
            percent=percent,
            time_spent_seconds=seconds,
            submitted_at=when,
        )

    await sit(ana, 80, 300, at(18))
    await sit(ana, 90, 400, at(10))
    await sit(ana, 90, 350, at(2))
    await sit(ben, 90, 350, datetime(2026, 3, 16, tzinfo=UTC))  # first second of the week
    await sit(
        cai, 100, 900, datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)
    )  # last of the week before
    await record(db, cai, items(1, 1), quiz_id=other_quiz, percent=100, submitted_at=at(18))

    async def board(period: LeaderboardPeriod) -> list[tuple[int, str, float, int]]:
        result = await service.compute_quiz_leaderboard(
            db, quiz, service.period_window(period, TODAY), PageParams()
        )
        return [(e.rank, e.name, e.percent, e.time_spent_seconds) for e in result.items]

    everything = await board(LeaderboardPeriod.ALL)
    assert everything[0] == (1, "Cai", 100.0, 900)
    assert sorted(everything[1:]) == [(2, "Ana", 90.0, 350), (2, "Ben", 90.0, 350)]
    assert await board(LeaderboardPeriod.WEEK) == [(1, "Ben", 90.0, 350), (2, "Ana", 80.0, 300)]
    assert await board(LeaderboardPeriod.DAY) == [(1, "Ana", 80.0, 300)]
    month = await board(LeaderboardPeriod.MONTH)
    assert month[0][1] == "Cai" and len(month) == 3

    result = await service.compute_quiz_leaderboard(
        db, quiz, service.period_window(LeaderboardPeriod.ALL, TODAY), PageParams()
    )
    assert result.total == 3
    cai_entry = result.items[0]
    assert cai_entry.submitted_at == datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)
    assert cai_entry.submitted_at.tzinfo is not None


async def test_leaderboard_api(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    me = await verified_user("me@example.com", name="Me Myself")
    quiz = await add_quiz(db)
    await record(db, as_uuid(me), items(4, 3), submitted_at=at(18), quiz_id=quiz, percent=75)

    response = await client.get(
        f"{API}/leaderboards/global",
        params={"period": "week", "on": "2026-03-18", "per_page": 5},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"] == {"period": "week", "first_day": "2026-03-16", "last_day": "2026-03-22"}
    assert body["items"] == [
        {
            "rank": 1,
            "user_id": me.id,
            "name": "Me Myself",
            "correct": 3,
            "answered": 4,
            "accuracy": 0.75,
        }
    ]
    assert (body["total"], body["page"], body["per_page"]) == (1, 1, 5)

    quiz_board = await client.get(
        f"{API}/leaderboards/quizzes/{quiz}", params={"period": "all"}, headers=me.headers
    )
    assert quiz_board.status_code == 200, quiz_board.text
    assert quiz_board.json()["quiz_title"] == "Cardiology basics"
    assert quiz_board.json()["items"][0]["percent"] == 75.0

    missing = await client.get(f"{API}/leaderboards/quizzes/{uuid.uuid4()}", headers=me.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "quiz_not_found"
    bad = await client.get(
        f"{API}/leaderboards/global", params={"period": "year"}, headers=me.headers
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    too_many = await client.get(
        f"{API}/leaderboards/global", params={"per_page": 1000}, headers=me.headers
    )
    assert too_many.status_code == 422


async def test_leaderboard_dates_at_the_end_of_the_calendar_answer_422(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    me = await verified_user("me@example.com")
    quiz = await add_quiz(db)
    for path in ("/leaderboards/global", f"/leaderboards/quizzes/{quiz}"):
        for period in ("day", "week", "month"):
            response = await client.get(
                f"{API}{path}", params={"period": period, "on": "9999-12-31"}, headers=me.headers
            )
            assert response.status_code == 422, (path, period, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "date_out_of_range"
        whole_history = await client.get(
            f"{API}{path}", params={"period": "all", "on": "9999-12-31"}, headers=me.headers
        )
        assert whole_history.status_code == 200, whole_history.text
