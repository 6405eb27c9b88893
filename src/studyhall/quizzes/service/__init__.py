"""Quizzes: categories, authoring, ordered questions, publishing, cached reading, and the spec
attempts start from.

Services flush, never commit. Every write drops the cached views it changes in the same call.
Callers use `from studyhall.quizzes import service` and `service.<name>`; the submodules are
an internal layout, so every public name is re-exported here.
"""

from studyhall.quizzes.service.access import can_edit, is_visible
from studyhall.quizzes.service.categories import (
    all_categories,
    create_category,
    delete_category,
    get_category,
    list_categories,
    update_category,
)
from studyhall.quizzes.service.common import Actor, slugify
from studyhall.quizzes.service.ordering import (
    add_quiz_question,
    move_quiz_question,
    quiz_questions,
    remove_quiz_question,
    set_quiz_questions,
)
from studyhall.quizzes.service.quizzes import (
    create_quiz,
    delete_quiz,
    get_quiz,
    list_quizzes,
    list_scope,
    publish_quiz,
    quiz_for_attempt,
    unpublish_quiz,
    update_quiz,
)

__all__ = [
    "Actor",
    "add_quiz_question",
    "all_categories",
    "can_edit",
    "create_category",
    "create_quiz",
    "delete_category",
    "delete_quiz",
    "get_category",
    "get_quiz",
    "is_visible",
    "list_categories",
    "list_quizzes",
    "list_scope",
    "move_quiz_question",
    "publish_quiz",
    "quiz_for_attempt",
    "quiz_questions",
    "remove_quiz_question",
    "set_quiz_questions",
    "slugify",
    "unpublish_quiz",
    "update_category",
    "update_quiz",
]
