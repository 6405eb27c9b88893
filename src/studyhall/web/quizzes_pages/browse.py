"""Browsing and searching quizzes, and one quiz as a student reads it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from studyhall.attempts import service as attempts
from studyhall.core.pagination import PageParams
from studyhall.quizzes import actions, service
from studyhall.quizzes.actions import actor_of
from studyhall.quizzes.schemas import FeedbackMode, QuizFilter, QuizSettings
from studyhall.web.deps import PageDb, SignedIn
from studyhall.web.quizzes_pages.common import PER_PAGE, QUIZZES, done_message
from studyhall.web.rendering import is_htmx, render
from studyhall.web.routing import page_router

router = page_router()


# ---------------------------------------------------------------- settings in words


def duration_text(seconds: int) -> str:
    """`5400` -> `1 hour 30 minutes`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if count
    ]
    return " ".join(parts) or "0 seconds"


def describe_settings(quiz: QuizSettings) -> list[tuple[str, str]]:
    """The quiz's settings as a student reads them: (term, explanation) pairs."""
    time_limit = (
        f"{duration_text(quiz.time_limit_seconds)} from the moment you start. Time spent "
        "paused does not count; when time is up, your answers are submitted for you."
        if quiz.time_limit_seconds
        else "None: take as long as you need."
    )
    if quiz.attempts_allowed is None:
        attempts = "Unlimited: take it as often as you like."
    elif quiz.attempts_allowed == 1:
        attempts = "One attempt only."
    else:
        attempts = f"Up to {quiz.attempts_allowed} attempts."
    if quiz.shuffle_questions and quiz.shuffle_options:
        order = "Questions and answer options are shuffled for each attempt."
    elif quiz.shuffle_questions:
        order = "Questions are shuffled for each attempt; options keep their order."
    elif quiz.shuffle_options:
        order = "Questions keep their order; answer options are shuffled for each attempt."
    else:
        order = "Questions and options always appear in the same order."
    feedback = {
        FeedbackMode.AFTER_EACH: "After each question you see whether you were right, with "
        "the explanation.",
        FeedbackMode.AFTER_SUBMIT: "Correct answers and explanations are shown after you submit.",
        FeedbackMode.NEVER: "You see your score, but not the correct answers.",
    }[quiz.feedback_mode]
    return [
        ("Time limit", time_limit),
        ("Attempts allowed", attempts),
        ("Pass mark", f"{quiz.pass_mark_percent}% of the marks."),
        ("Question order", order),
        ("Answers and explanations", feedback),
    ]


# ---------------------------------------------------------------- browse


@dataclass
class BrowseQuery:
    text: str = ""
    category: str = ""
    page: int = 1
    mine: bool = False

    @classmethod
    def from_request(cls, request: Request) -> BrowseQuery:
        params = request.query_params
        page = params.get("page", "1")
        return cls(
            text=params.get("text", "").strip()[:200],
            category=params.get("category", "").strip()[:100],
            page=min(max(int(page), 1), 100_000) if page.isdigit() else 1,
            mine=params.get("mine") == "1",
        )

    def filter(self) -> QuizFilter:
        return QuizFilter(text=self.text, category=self.category or None, mine=self.mine)

    def url(self, page: int | None = None, category: str | None = None) -> str:
        values = {
            "text": self.text,
            "category": self.category if category is None else category,
            "mine": "1" if self.mine else "",
        }
        target = page or (self.page if category is None else 1)
        if target > 1:
            values["page"] = str(target)
        kept = {name: value for name, value in values.items() if value}
        return QUIZZES + ("?" + urlencode(kept) if kept else "")

    def cleared(self) -> str:
        """The current category without search words."""
        return QUIZZES + ("?" + urlencode({"category": self.category}) if self.category else "")

    @property
    def is_filtered(self) -> bool:
        return bool(self.text or self.category or self.mine)


@router.get(QUIZZES)
async def browse(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    """Browse by category, search by words; HTMX asks for the results only."""
    actor = actor_of(viewer)
    query = BrowseQuery.from_request(request)
    results = await actions.list_quizzes(
        db, viewer, query.filter(), PageParams(page=query.page, per_page=PER_PAGE)
    )
    categories = await service.all_categories(db)
    current = next((c for c in categories if c.slug == query.category), None)
    context = {
        "active": "quizzes",
        "query": query,
        "results": results,
        "categories": categories,
        "current_category": current,
        "can_author": actor.can_author,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "quiz-results":
        return render(request, "quizzes/_results.html", context)
    return render(request, "quizzes/browse.html", context)


# ---------------------------------------------------------------- one quiz


@router.get(QUIZZES + "/{quiz_id}")
async def quiz_page(quiz_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn) -> Response:
    quiz = await actions.get_quiz(db, viewer, quiz_id)
    attempts_used = (
        await attempts.count_quiz_attempts(db, quiz.id, viewer.id)
        if quiz.attempts_allowed is not None
        else None
    )
    context = {
        "active": "quizzes",
        "quiz": quiz,
        "settings": describe_settings(quiz),
        "attempts_used": attempts_used,
        "done": done_message(request),
    }
    return render(request, "quizzes/detail.html", context)
