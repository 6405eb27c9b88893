"""The question bank: authoring with versions, publishing, search, and lookups for attempts.

Authors are teachers and admins; a teacher edits their own questions, an admin any. Students
see published questions only, and never the answers outside a review.
"""

from __future__ import annotations

from studyhall.questions.grading import grade as grade
from studyhall.questions.grading import is_answered as is_answered
from studyhall.questions.grading import normalize_text as normalize_text
from studyhall.questions.grading import valid_response_shape as valid_response_shape
from studyhall.questions.schemas import GradeResult as GradeResult
from studyhall.questions.service.authoring import (
    archive_question as archive_question,
)
from studyhall.questions.service.authoring import (
    create_question as create_question,
)
from studyhall.questions.service.authoring import (
    publish_question as publish_question,
)
from studyhall.questions.service.authoring import (
    update_question as update_question,
)
from studyhall.questions.service.common import (
    OPTION_IDS as OPTION_IDS,
)
from studyhall.questions.service.common import (
    PREVIEW_CHARS as PREVIEW_CHARS,
)
from studyhall.questions.service.common import (
    READER_CACHE_SECONDS as READER_CACHE_SECONDS,
)
from studyhall.questions.service.common import (
    SUBJECTS_CACHE_SECONDS as SUBJECTS_CACHE_SECONDS,
)
from studyhall.questions.service.common import (
    SUBJECTS_KEY as SUBJECTS_KEY,
)
from studyhall.questions.service.common import (
    VERSION_CACHE_SECONDS as VERSION_CACHE_SECONDS,
)
from studyhall.questions.service.common import (
    Author as Author,
)
from studyhall.questions.service.common import (
    fill_version as fill_version,
)
from studyhall.questions.service.common import (
    forget_question as forget_question,
)
from studyhall.questions.service.common import (
    load_for_edit as load_for_edit,
)
from studyhall.questions.service.common import (
    plain_preview as plain_preview,
)
from studyhall.questions.service.common import (
    question_tag as question_tag,
)
from studyhall.questions.service.common import (
    search_text_of as search_text_of,
)
from studyhall.questions.service.common import (
    version_read as version_read,
)
from studyhall.questions.service.lookups import (
    get_current_versions as get_current_versions,
)
from studyhall.questions.service.lookups import (
    get_versions as get_versions,
)
from studyhall.questions.service.lookups import (
    pick_published as pick_published,
)
from studyhall.questions.service.reading import (
    get_question as get_question,
)
from studyhall.questions.service.reading import (
    hide_answers as hide_answers,
)
from studyhall.questions.service.reading import (
    list_question_versions as list_question_versions,
)
from studyhall.questions.service.reading import (
    list_questions as list_questions,
)
from studyhall.questions.service.reading import (
    question_subjects as question_subjects,
)
from studyhall.questions.service.reading import (
    subject_summary as subject_summary,
)
