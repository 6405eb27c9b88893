"""Pages of quizzes: browse and search, one quiz, the teacher's editor, and categories."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.web.quizzes_pages import browse, categories, editor
from studyhall.web.quizzes_pages.browse import describe_settings, duration_text

router = APIRouter(include_in_schema=False)
# The editor first: its /quizzes/new must be matched before /quizzes/{quiz_id}.
for pages in (editor, browse, categories):
    router.include_router(pages.router)

__all__ = ["describe_settings", "duration_text", "router"]
