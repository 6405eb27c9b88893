"""Pages of the analytics module: my performance (with the dashboard panel), leaderboards,
and item analysis for authors."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from studyhall.accounts.service import Principal
from studyhall.analytics import actions
from studyhall.analytics.schemas import (
    LeaderboardPeriod,
    PercentileRanking,
    Performance,
    TrendGranularity,
)
from studyhall.core.pagination import PageParams
from studyhall.questions import actions as questions
from studyhall.quizzes import actions as quizzes
from studyhall.quizzes.schemas import QuizFilter
from studyhall.web.analytics_charts import bar_chart, percent_text, time_chart
from studyhall.web.deps import PageDb, SignedIn
from studyhall.web.rendering import render
from studyhall.web.routing import page_router, redirect

router = page_router()

PER_PAGE = 25
TREND_PERIODS = {TrendGranularity.DAY: 30, TrendGranularity.WEEK: 12}
PERIOD_LABELS = {
    LeaderboardPeriod.DAY: "Today",
    LeaderboardPeriod.WEEK: "This week",
    LeaderboardPeriod.MONTH: "This month",
    LeaderboardPeriod.ALL: "All time",
}
QUIZ_PICKER_SIZE = 100


E = TypeVar("E", TrendGranularity, LeaderboardPeriod)


def _choice(kind: type[E], raw: str | None, default: E) -> E:
    """A query value of a page, read leniently: anything unknown shows the default."""
    try:
        return kind(raw) if raw else default
    except ValueError:
        return default


def _page_number(raw: str | None) -> int:
    try:
        return min(max(1, int(raw or 1)), 100_000)
    except ValueError:
        return 1


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _seconds_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _percentile_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _performance_context(performance: Performance, ranking: PercentileRanking) -> dict[str, Any]:
    subjects = [
        (
            group.subject or "(no subject)",
            group.accuracy,
            f"{group.correct} of {group.answered} correct, "
            f"{_seconds_text(group.avg_time_seconds)} per question",
        )
        for group in performance.by_subject
    ]
    day_labels = [
        point.start.strftime("%d %b")
        if performance.granularity is TrendGranularity.DAY
        else "Wk " + point.start.strftime("%d %b")
        for point in performance.trend
    ]
    trend = time_chart(
        day_labels,
        [point.accuracy for point in performance.trend],
        [point.answered for point in performance.trend],
        [
            (label, str(point.answered), percent_text(point.accuracy))
            for label, point in zip(day_labels, performance.trend, strict=True)
        ],
    )
    percentiles = bar_chart(
        [
            ("Overall", _share(ranking.overall_percentile), "50% accuracy, 25% speed, 25% volume"),
            ("Accuracy", _share(ranking.accuracy_percentile), "share of answers correct"),
            ("Speed", _share(ranking.speed_percentile), "average time per question"),
            ("Volume", _share(ranking.volume_percentile), "questions answered"),
        ]
    )
    return {
        "performance": performance,
        "ranking": ranking,
        "subject_chart": bar_chart(subjects),
        "trend_chart": trend,
        "percentile_chart": percentiles,
        "percent_text": percent_text,
        "seconds_text": _seconds_text,
        "percentile_text": _percentile_text,
    }


def _share(percentile: float | None) -> float | None:
    return None if percentile is None else percentile / 100


async def _load_performance(
    db: PageDb, viewer: Principal, granularity: TrendGranularity
) -> dict[str, Any]:
    performance = await actions.my_performance(db, viewer, granularity, TREND_PERIODS[granularity])
    ranking = await actions.my_percentile(db, viewer)
    return _performance_context(performance, ranking)


@router.get("/dashboard/performance")
async def performance_page(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    """My performance: overall, by subject and system, the trend and the percentile ranking."""
    granularity = _choice(TrendGranularity, request.query_params.get("trend"), TrendGranularity.DAY)
    context = await _load_performance(db, viewer, granularity)
    context.update(active="dashboard", granularity=granularity)
    return render(request, "analytics/performance.html", context)


@router.get("/dashboard/performance/panel")
async def performance_panel(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    """The dashboard's summary (an HTMX fragment; also a plain page part for includes)."""
    context = await _load_performance(db, viewer, TrendGranularity.DAY)
    return render(request, "analytics/_panel.html", context)


def _board_url(path: str, period: LeaderboardPeriod, page: int, on: date | None) -> str:
    values = {"period": period.value}
    if page > 1:
        values["page"] = str(page)
    if on is not None:
        values["on"] = on.isoformat()
    return f"{path}?{urlencode(values)}"


async def _quiz_choices(db: PageDb, viewer: Principal) -> list[tuple[uuid.UUID, str]]:
    found = await quizzes.list_quizzes(
        db, viewer, QuizFilter(), PageParams(page=1, per_page=QUIZ_PICKER_SIZE)
    )
    return [(quiz.id, quiz.title) for quiz in found.items]


@router.get("/leaderboards")
async def leaderboards_page(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    """The global leaderboard with period tabs, and a way to the quiz leaderboards."""
    params = request.query_params
    period = _choice(LeaderboardPeriod, params.get("period"), LeaderboardPeriod.WEEK)
    on = _day(params.get("on"))
    page = _page_number(params.get("page"))
    board = await actions.global_leaderboard(
        db, viewer, period, PageParams(page=page, per_page=PER_PAGE), on
    )
    return render(
        request,
        "analytics/leaderboards.html",
        {
            "active": "leaderboards",
            "board": board,
            "period": period,
            "period_labels": PERIOD_LABELS,
            "tab_url": lambda p: _board_url("/leaderboards", p, 1, on),
            "page_url": lambda n: _board_url("/leaderboards", period, n, on),
            "quizzes": await _quiz_choices(db, viewer),
            "percent_text": percent_text,
        },
    )


@router.get("/leaderboards/quizzes")
async def pick_quiz_board(request: Request, viewer: SignedIn) -> Response:
    """Where the quiz picker's GET form lands: on to that quiz's board."""
    try:
        quiz_id = uuid.UUID(request.query_params.get("quiz", ""))
    except ValueError:
        return redirect("/leaderboards")
    return redirect(f"/leaderboards/quizzes/{quiz_id}")


@router.get("/leaderboards/quizzes/{quiz_id}")
async def quiz_leaderboard_page(
    request: Request, quiz_id: uuid.UUID, db: PageDb, viewer: SignedIn
) -> Response:
    """Each user's best result on one quiz, per period."""
    params = request.query_params
    period = _choice(LeaderboardPeriod, params.get("period"), LeaderboardPeriod.ALL)
    on = _day(params.get("on"))
    page = _page_number(params.get("page"))
    board = await actions.quiz_leaderboard(
        db, viewer, quiz_id, period, PageParams(page=page, per_page=PER_PAGE), on
    )
    path = f"/leaderboards/quizzes/{quiz_id}"
    return render(
        request,
        "analytics/quiz_leaderboard.html",
        {
            "active": "leaderboards",
            "board": board,
            "period": period,
            "period_labels": PERIOD_LABELS,
            "tab_url": lambda p: _board_url(path, p, 1, on),
            "page_url": lambda n: _board_url(path, period, n, on),
            "seconds_text": _seconds_text,
        },
    )


@router.get("/questions/{question_id}/analysis")
async def item_analysis_page(
    request: Request, question_id: uuid.UUID, db: PageDb, viewer: SignedIn
) -> Response:
    """Item analysis of a question for its author or an admin."""
    analysis = await actions.item_analysis(db, viewer, question_id)
    question = await questions.get_question(db, viewer, question_id)
    charts = {
        version.version_id: bar_chart(
            [
                (
                    ("✓ " if option.correct else "")
                    + f"{option.option_id.upper()}. {option.label}",
                    option.percent / 100,
                    f"{option.picks} of {version.answered} answered"
                    + (" · the correct answer" if option.correct else ""),
                )
                for option in version.options
            ]
        )
        for version in analysis.versions
        if version.options
    }
    return render(
        request,
        "analytics/item_analysis.html",
        {
            "active": "questions",
            "analysis": analysis,
            "question": question,
            "option_charts": charts,
            "percent_text": percent_text,
        },
    )
