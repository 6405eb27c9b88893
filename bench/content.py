"""Question and quiz content for the data set, made valid by the question bank's own models.

Every question is validated by `QuestionCreate` and rendered by the service's own helpers
(`questions.service.fill_version` and `search_text_of`), so its rows are what
`create_question` + publishing would have written; `version_read` gives the view the grader
and the attempts module use.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from studyhall.core.markdown import render_markdown
from studyhall.questions import service as question_rendering
from studyhall.questions import service as questions
from studyhall.questions.models import Question, QuestionStatus, QuestionType, QuestionVersion
from studyhall.questions.schemas import (
    NumericAnswer,
    OptionIn,
    QuestionCreate,
    QuestionVersionRead,
)
from studyhall.quizzes.service import slugify

SUBJECTS: tuple[str, ...] = (
    "Anatomy",
    "Physiology",
    "Biochemistry",
    "Pathology",
    "Pharmacology",
    "Microbiology",
    "Immunology",
    "Genetics",
)
SYSTEMS: tuple[str, ...] = (
    "Cardiovascular",
    "Respiratory",
    "Renal",
    "Gastrointestinal",
    "Endocrine",
    "Reproductive",
    "Nervous",
    "Musculoskeletal",
    "Hematology",
    "Skin",
)
TOPICS: tuple[str, ...] = (
    "mechanisms",
    "diagnosis",
    "management",
    "adverse effects",
    "histology",
    "embryology",
    "laboratory findings",
    "epidemiology",
)
FINDINGS: tuple[str, ...] = (
    "chest pain radiating to the left arm",
    "progressive shortness of breath",
    "painless jaundice",
    "polyuria and polydipsia",
    "a new systolic murmur",
    "bilateral leg edema",
    "episodic headaches with palpitations",
    "fever and a productive cough",
    "easy bruising and fatigue",
    "a pruritic rash on the forearms",
    "tingling in both feet",
    "morning stiffness of the hands",
)
ANSWERS: tuple[str, ...] = (
    "aspirin",
    "metoprolol",
    "furosemide",
    "insulin",
    "amoxicillin",
    "prednisone",
    "heparin",
    "levothyroxine",
    "spironolactone",
    "vancomycin",
    "omeprazole",
    "lisinopril",
)
CHOICES: tuple[str, ...] = (
    "Increased preload",
    "Decreased afterload",
    "Autoimmune destruction",
    "Impaired renal clearance",
    "Bacterial toxin",
    "Enzyme deficiency",
    "Receptor antagonism",
    "Immune complex deposition",
    "Vitamin deficiency",
    "Gain-of-function mutation",
    "Loss of inhibition",
    "Competitive inhibition",
)
# The question bank's mix: mostly single best answer, as in the MS2 seed.
TYPE_WEIGHTS: dict[QuestionType, int] = {
    QuestionType.SINGLE_CHOICE: 55,
    QuestionType.MULTIPLE_RESPONSE: 15,
    QuestionType.TRUE_FALSE: 10,
    QuestionType.SHORT_ANSWER: 10,
    QuestionType.NUMERICAL: 10,
}


@dataclass(frozen=True)
class QuestionRows:
    """One published question as the tables hold it, and the view graders use."""

    question: dict[str, Any]
    version: dict[str, Any]
    tags: list[tuple[uuid.UUID, str]]
    read: QuestionVersionRead


def pick_type(rng: random.Random) -> QuestionType:
    kinds = list(TYPE_WEIGHTS)
    return rng.choices(kinds, weights=[TYPE_WEIGHTS[k] for k in kinds])[0]


def _stem(rng: random.Random, subject: str, system: str, index: int) -> str:
    age = rng.randint(18, 85)
    person = rng.choice(("man", "woman"))
    finding = rng.choice(FINDINGS)
    return (
        f"**Case {index + 1}.** A {age}-year-old {person} presents with {finding}. "
        f"Vital signs: pulse {rng.randint(55, 130)}/min, blood pressure "
        f"{rng.randint(90, 180)}/{rng.randint(50, 110)} mm Hg.\n\n"
        f"- Relevant history: {rng.choice(FINDINGS)}\n"
        f"- Topic: *{subject}* of the *{system.lower()}* system\n\n"
    )


def question_content(
    rng: random.Random, kind: QuestionType, subject: str, system: str, index: int
) -> QuestionCreate:
    """A valid question of `kind` (validated by the bank's own schema)."""
    stem = _stem(rng, subject, system, index)
    explanation = (
        f"The key finding points to the {system.lower()} system. "
        f"See the {subject.lower()} chapter; `tolerance` and units matter."
    )
    options: list[OptionIn] = []
    accepted: list[str] = []
    numeric: NumericAnswer | None = None
    if kind is QuestionType.SINGLE_CHOICE:
        stem += "Which of the following is the most likely mechanism?"
        texts = rng.sample(CHOICES, 5)
        right = rng.randrange(5)
        options = [
            OptionIn(
                text=t, correct=i == right, explanation=f"{t} {'fits' if i == right else 'no'}."
            )
            for i, t in enumerate(texts)
        ]
    elif kind is QuestionType.MULTIPLE_RESPONSE:
        stem += "Which of the following apply? Select all that apply."
        texts = rng.sample(CHOICES, 5)
        rights = set(rng.sample(range(5), rng.randint(2, 3)))
        options = [OptionIn(text=t, correct=i in rights) for i, t in enumerate(texts)]
    elif kind is QuestionType.TRUE_FALSE:
        stem += "True or false: the first-line treatment is pharmacological."
        truth = rng.random() < 0.5
        options = [OptionIn(text="True", correct=truth), OptionIn(text="False", correct=not truth)]
    elif kind is QuestionType.SHORT_ANSWER:
        stem += "Name the drug of choice (one word)."
        accepted = [rng.choice(ANSWERS)]
    else:
        stem += "What is the expected value in mmol/L (one decimal)?"
        numeric = NumericAnswer(value=round(rng.uniform(1, 150), 1), tolerance=0.5)
    return QuestionCreate(
        type=kind,
        stem=stem,
        explanation=explanation,
        options=options,
        accepted_answers=accepted,
        numeric_answer=numeric,
        subject=subject,
        system=system,
        topic=rng.choice(TOPICS),
        tags=[
            subject.lower(),
            system.lower(),
            rng.choice(("usmle-step-1", "review", "high-yield")),
        ],
        difficulty=rng.randint(1, 5),
        source=f"Studyhall benchmark set, item {index + 1}",
    )


def question_rows(
    content: QuestionCreate, author_id: uuid.UUID, created_at: datetime
) -> QuestionRows:
    """The rows `create_question` then `publish_question` leave behind, rendered by the
    service's own helpers."""
    question_id, version_id = uuid.uuid4(), uuid.uuid4()
    question = Question(
        id=question_id,
        author_id=author_id,
        status=QuestionStatus.PUBLISHED.value,
        type=content.type.value,
        subject=content.subject,
        system=content.system,
        topic=content.topic,
        difficulty=content.difficulty,
        source=content.source,
    )
    version = QuestionVersion(id=version_id, question_id=question_id, number=1)
    question_rendering.fill_version(version, content)
    search_text = question_rendering.search_text_of(content, content.tags, question)
    version_row = {
        "id": version_id,
        "question_id": question_id,
        "number": 1,
        "type": version.type,
        "stem_md": version.stem_md,
        "stem_html": version.stem_html,
        "explanation_md": version.explanation_md,
        "explanation_html": version.explanation_html,
        "options": version.options,
        "answer": version.answer,
        "created_at": created_at,
        "created_by": author_id,
    }
    question_row = {
        "id": question_id,
        "author_id": author_id,
        "status": QuestionStatus.PUBLISHED.value,
        "type": content.type.value,
        "subject": content.subject,
        "system": content.system,
        "topic": content.topic,
        "difficulty": content.difficulty,
        "source": content.source,
        "current_version_id": version_id,
        "version_count": 1,
        "search_text": search_text,
        "created_at": created_at,
        "updated_at": created_at,
    }
    read = questions.version_read(version, question)
    return QuestionRows(
        question=question_row,
        version=version_row,
        tags=[(question_id, tag) for tag in content.tags],
        read=read,
    )


def category_row(subject: str, created_at: datetime) -> dict[str, Any]:
    name = f"{subject} review"
    return {
        "id": uuid.uuid4(),
        "name": name,
        "slug": slugify(name),
        "description": f"Quizzes on {subject.lower()} across the organ systems.",
        "created_at": created_at,
        "updated_at": created_at,
    }


def quiz_description(subject: str, number: int, size: int) -> tuple[str, str]:
    source = (
        f"Block {number} of **{subject}**: {size} questions drawn from every organ system.\n\n"
        "Answers and explanations show as the quiz settings say."
    )
    return source, render_markdown(source)
