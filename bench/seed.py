"""The benchmark's data set: users, a question bank, quizzes, and a history of submitted
attempts with the analytics aggregates they would have left behind.

Rows are generated in Python and written in bulk (bench.writer: COPY on PostgreSQL). Every
value is what the services would have written: questions are rendered by the bank's helpers,
answers are graded by the bank's grader, and the aggregates (user_stats, user_subject_stats,
user_daily_stats, attempt_results, user_question_states) are folded exactly as
`record_submission` and the attempts module fold them; the rank buckets are then rebuilt by
`analytics.service.rebuild_rank_buckets`.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.content import (
    SUBJECTS,
    SYSTEMS,
    QuestionRows,
    category_row,
    pick_type,
    question_content,
    question_rows,
    quiz_description,
)
from bench.history import (
    ITEM_BATCH,
    Batch,
    Generator,
    Quiz,
    SeedSize,
    Student,
    produce,
    schedule_of,
)
from bench.writer import RowWriter
from studyhall.accounts.models import Role, User
from studyhall.analytics import service as analytics
from studyhall.core.db import utcnow
from studyhall.core.security import hash_password
from studyhall.quizzes.models import FeedbackMode, QuizStatus

__all__ = [
    "ADMIN_EMAIL",
    "BENCH_PASSWORD",
    "SeedSize",
    "SeedSummary",
    "bench_user_count",
    "seed_database",
    "student_email",
    "teacher_email",
    "user_record",
]

BENCH_PASSWORD = "bench: a long and unusual passphrase"  # noqa: S105 (seeded test accounts)
EMAIL_PREFIX = "bench-"
Progress = Callable[[str, int, int], None]

USER_COLUMNS = (
    "id",
    "email",
    "name",
    "password_hash",
    "is_active",
    "email_verified_at",
    "last_login_at",
    "totp_secret",
    "totp_pending_secret",
    "totp_enabled",
    "totp_last_step",
    "created_at",
    "updated_at",
)
ATTEMPT_COLUMNS = (
    "id",
    "user_id",
    "quiz_id",
    "kind",
    "mode",
    "status",
    "title",
    "feedback_mode",
    "pass_mark_percent",
    "time_limit_seconds",
    "started_at",
    "deadline_at",
    "paused_at",
    "paused_seconds",
    "submitted_at",
    "auto_submitted",
    "version",
    "position",
    "question_count",
    "answered_count",
    "correct_count",
    "score",
    "max_score",
    "percent",
    "passed",
    "time_spent_seconds",
    "settings",
    "updated_at",
)
ITEM_COLUMNS = (
    "id",
    "attempt_id",
    "position",
    "question_id",
    "question_version_id",
    "option_order",
    "response",
    "is_correct",
    "score",
    "time_spent_seconds",
    "marked",
    "note",
    "answered_at",
    "locked",
)
RESULT_COLUMNS = (
    "attempt_id",
    "user_id",
    "quiz_id",
    "percent",
    "question_count",
    "answered",
    "correct",
    "time_spent_seconds",
    "submitted_at",
)
QUIZ_COLUMNS = (
    "id",
    "title",
    "description_md",
    "description_html",
    "category_id",
    "author_id",
    "status",
    "time_limit_seconds",
    "shuffle_questions",
    "shuffle_options",
    "attempts_allowed",
    "pass_mark_percent",
    "feedback_mode",
    "question_count",
    "created_at",
    "updated_at",
)
# analytics' copy of each submitted item (what the attempt.submitted event gives it).
RESPONSE_COLUMNS = (
    "attempt_id",
    "question_id",
    "question_version_id",
    "user_id",
    "response",
    "is_correct",
    "attempt_percent",
    "submitted_at",
)
# Their secondary indexes are built once after the load (see RowWriter.begin_bulk_load).
BULK_TABLES = (
    "attempts",
    "attempt_items",
    "attempt_results",
    "item_responses",
    "user_question_states",
    "user_subject_stats",
    "user_daily_stats",
)


@dataclass
class SeedSummary:
    rows: dict[str, int]
    ranked_users: int
    seconds: float
    # Time spent in the database writes, per table (the rest is generating rows).
    write_seconds: dict[str, float] = field(default_factory=dict)


def student_email(index: int) -> str:
    return f"{EMAIL_PREFIX}student-{index:05d}@example.com"


def teacher_email(index: int) -> str:
    return f"{EMAIL_PREFIX}teacher-{index:03d}@example.com"


ADMIN_EMAIL = f"{EMAIL_PREFIX}admin@example.com"


def user_record(
    email: str, name: str, password_hash: str, created_at: datetime
) -> tuple[uuid.UUID, tuple[Any, ...]]:
    """A verified, active account (USER_COLUMNS order)."""
    user_id = uuid.uuid4()
    return user_id, (
        user_id,
        email,
        name,
        password_hash,
        True,
        created_at,
        None,
        None,
        None,
        False,
        0,
        created_at,
        created_at,
    )


async def bench_user_count(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as db:
        count = await db.scalar(
            select(func.count()).select_from(User).where(User.email.like(f"{EMAIL_PREFIX}%"))
        )
    return int(count or 0)


async def seed_database(
    engine: AsyncEngine,
    size: SeedSize = SeedSize(),
    seed: int = 20_241_122,
    progress: Progress | None = None,
) -> SeedSummary:
    """Write the data set in one transaction, then rebuild the rank buckets.

    The cache must be set up (setup_cache): rebuilding drops the cached percentiles.
    """
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (a reproducible data set, not a secret)
    now = utcnow()
    gen = Generator(size, rng, now)
    report = progress or (lambda stage, done, total: None)
    async with engine.begin() as conn:
        writer = RowWriter(conn)
        await writer.begin_bulk_load(BULK_TABLES)
        teacher_ids = await _write_users(writer, gen, report)
        await _write_bank(writer, gen, teacher_ids, report)
        await _write_quizzes(writer, gen, teacher_ids)
        await _write_history(writer, gen, report)
        await _write_aggregates(writer, gen, report)
        report("indexes and integrity", 0, 1)
        await writer.end_bulk_load()
        report("indexes and integrity", 1, 1)
        rows = dict(writer.written)
        write_seconds = dict(writer.seconds)
    report("rank buckets", 0, 1)
    async with AsyncSession(engine) as db:
        ranked = await analytics.rebuild_rank_buckets(db)
        await db.commit()
    report("rank buckets", 1, 1)
    return SeedSummary(
        rows=rows,
        ranked_users=ranked,
        seconds=time.perf_counter() - started,
        write_seconds=write_seconds,
    )


async def _write_users(writer: RowWriter, gen: Generator, report: Progress) -> list[uuid.UUID]:
    size, now = gen.size, gen.now
    report("users", 0, size.users)
    # Argon2 is deliberately slow: hash once and share the hash (every account, one password).
    password_hash = hash_password(BENCH_PASSWORD)
    users: list[tuple[Any, ...]] = []
    roles: list[tuple[Any, ...]] = []
    teacher_ids: list[uuid.UUID] = []
    joined = now - timedelta(days=size.days + 30)
    admin_id, row = user_record(ADMIN_EMAIL, "Bench Admin", password_hash, joined)
    users.append(row)
    roles.append((admin_id, Role.ADMIN.value))
    for i in range(size.teachers):
        user_id, row = user_record(teacher_email(i), f"Teacher {i:03d}", password_hash, joined)
        users.append(row)
        roles.append((user_id, Role.TEACHER.value))
        teacher_ids.append(user_id)
    for i in range(size.students):
        user_id, row = user_record(student_email(i), f"Student {i:05d}", password_hash, joined)
        users.append(row)
        roles.append((user_id, Role.STUDENT.value))
        gen.students.append(
            Student(
                id=user_id,
                skill=0.3 + 0.65 * gen.rng.betavariate(4, 3),
                pace=gen.rng.lognormvariate(4.0, 0.35),  # ~55 s per question
            )
        )
    await writer.write("users", USER_COLUMNS, users)
    await writer.write("user_roles", ("user_id", "role"), roles)
    report("users", size.users, size.users)
    return teacher_ids or [admin_id]


async def _write_bank(
    writer: RowWriter, gen: Generator, authors: Sequence[uuid.UUID], report: Progress
) -> None:
    size, rng = gen.size, gen.rng
    report("questions", 0, size.questions)
    for i in range(size.questions):
        subject = SUBJECTS[i % len(SUBJECTS)]
        system = rng.choice(SYSTEMS)
        content = question_content(rng, pick_type(rng), subject, system, i)
        created = gen.now - timedelta(days=size.days + rng.uniform(1, 30))
        gen.bank.append(question_rows(content, rng.choice(authors), created))
        gen.by_subject[subject].append(i)
        if (i + 1) % 500 == 0:
            report("questions", i + 1, size.questions)
    question_columns = tuple(gen.bank[0].question) if gen.bank else ()
    version_columns = tuple(gen.bank[0].version) if gen.bank else ()
    # The version's question must exist first; the question's current_version_id FK is
    # deferred to the end of the statement only in PostgreSQL, so write questions without
    # it, then the versions, then point the questions at them.
    await writer.write(
        "questions", question_columns, [tuple(r.question.values()) for r in _unversioned(gen)]
    )
    await writer.write(
        "question_versions", version_columns, [tuple(r.version.values()) for r in gen.bank]
    )
    await _point_at_versions(writer)
    await writer.write(
        "question_tags", ("question_id", "tag"), [t for r in gen.bank for t in r.tags]
    )
    report("questions", size.questions, size.questions)


def _unversioned(gen: Generator) -> list[QuestionRows]:
    return [
        QuestionRows(
            question={**r.question, "current_version_id": None},
            version=r.version,
            tags=r.tags,
            read=r.read,
        )
        for r in gen.bank
    ]


async def _point_at_versions(writer: RowWriter) -> None:
    """Set each new question's current version (a correlated update both backends speak)."""
    await writer.conn.execute(
        text(
            "UPDATE questions SET current_version_id = (SELECT v.id FROM question_versions v "
            "WHERE v.question_id = questions.id AND v.number = 1) "
            "WHERE current_version_id IS NULL"
        )
    )


async def _write_quizzes(writer: RowWriter, gen: Generator, authors: Sequence[uuid.UUID]) -> None:
    size, rng, now = gen.size, gen.rng, gen.now
    created = now - timedelta(days=size.days + 10)
    categories = {subject: category_row(subject, created) for subject in SUBJECTS}
    await writer.write(
        "quiz_categories",
        tuple(next(iter(categories.values()))),
        [tuple(c.values()) for c in categories.values()],
    )
    quiz_rows: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    for n in range(size.quizzes):
        subject = SUBJECTS[n % len(SUBJECTS)]
        pool = gen.by_subject[subject]
        picked = rng.sample(pool, min(size.quiz_size, len(pool)))
        number = n // len(SUBJECTS) + 1
        title = f"{subject} block {number:02d}"
        source, rendered = quiz_description(subject, number, len(picked))
        quiz = Quiz(
            id=uuid.uuid4(),
            title=title,
            questions=picked,
            feedback_mode=rng.choices(
                [FeedbackMode.AFTER_SUBMIT, FeedbackMode.AFTER_EACH, FeedbackMode.NEVER],
                weights=[60, 25, 15],
            )[0].value,
            time_limit_seconds=rng.choice((None, 1800, 2400, 3600)),
            shuffle_questions=rng.random() < 0.5,
            shuffle_options=rng.random() < 0.5,
            pass_mark_percent=rng.choice((50, 60, 70)),
        )
        gen.quizzes.append(quiz)
        quiz_rows.append(
            (
                quiz.id,
                title,
                source,
                rendered,
                categories[subject]["id"],
                rng.choice(authors),
                QuizStatus.PUBLISHED.value,
                quiz.time_limit_seconds,
                quiz.shuffle_questions,
                quiz.shuffle_options,
                None,
                quiz.pass_mark_percent,
                quiz.feedback_mode,
                len(picked),
                created,
                created,
            )
        )
        links.extend(
            (quiz.id, gen.bank[q].question["id"], position) for position, q in enumerate(picked)
        )
    await writer.write("quizzes", QUIZ_COLUMNS, quiz_rows)
    await writer.write("quiz_questions", ("quiz_id", "question_id", "position"), links)


async def _write_history(writer: RowWriter, gen: Generator, report: Progress) -> None:
    size = gen.size
    if not gen.students or not gen.bank:
        return
    schedule = schedule_of(gen)
    batches: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(target=produce, args=(gen, schedule, batches, stop), daemon=True)
    done = 0
    report("attempts", 0, size.attempts)
    producer.start()
    try:
        while (batch := await asyncio.to_thread(batches.get)) is not None:
            if isinstance(batch, BaseException):
                raise batch
            await writer.write("attempts", ATTEMPT_COLUMNS, batch.attempts)
            await writer.write("attempt_items", ITEM_COLUMNS, batch.items)
            await writer.write("attempt_results", RESULT_COLUMNS, batch.results)
            await writer.write("item_responses", RESPONSE_COLUMNS, item_responses(batch))
            done += len(batch.attempts)
            report("attempts", done, size.attempts)
    finally:
        stop.set()
        await asyncio.to_thread(producer.join)


def item_responses(batch: Batch) -> list[tuple[Any, ...]]:
    """The item_responses rows of a batch: its items with their attempt's user, percent and
    submission time."""
    by_attempt = {
        row[ATTEMPT_COLUMNS.index("id")]: (
            row[ATTEMPT_COLUMNS.index("user_id")],
            row[ATTEMPT_COLUMNS.index("percent")],
            row[ATTEMPT_COLUMNS.index("submitted_at")],
        )
        for row in batch.attempts
    }
    column = ITEM_COLUMNS.index
    rows = []
    for item in batch.items:
        user_id, percent, submitted_at = by_attempt[item[column("attempt_id")]]
        rows.append(
            (
                item[column("attempt_id")],
                item[column("question_id")],
                item[column("question_version_id")],
                user_id,
                item[column("response")],
                bool(item[column("is_correct")]),
                percent,
                submitted_at,
            )
        )
    return rows


async def _write_aggregates(writer: RowWriter, gen: Generator, report: Progress) -> None:
    totals, now = gen.totals, gen.now
    report("aggregates", 0, 1)
    await writer.write(
        "user_stats",
        (
            "user_id",
            "answered",
            "correct",
            "time_seconds",
            "accuracy",
            "avg_time_seconds",
            "updated_at",
        ),
        [(user_id, a, c, t, c / a, t / a, now) for user_id, (a, c, t) in totals.user.items() if a],
    )
    await writer.write(
        "user_subject_stats",
        ("user_id", "subject", "system", "answered", "correct", "time_seconds"),
        [(u, s, y, a, c, t) for (u, s, y), (a, c, t) in totals.subject.items()],
    )
    await writer.write(
        "user_daily_stats",
        ("user_id", "day", "answered", "correct", "time_seconds"),
        [(u, d, a, c, t) for (u, d), (a, c, t) in totals.daily.items()],
    )
    students, bank = gen.students, gen.bank
    states = [
        (students[s].id, bank[q].question["id"], seen, right, last, marked, at)
        for (s, q), (seen, right, last, marked, at) in totals.states.items()
    ]
    columns = (
        "user_id",
        "question_id",
        "times_seen",
        "times_correct",
        "last_correct",
        "marked",
        "last_seen_at",
    )
    for start in range(0, len(states), ITEM_BATCH):
        await writer.write("user_question_states", columns, states[start : start + ITEM_BATCH])
    report("aggregates", 1, 1)
