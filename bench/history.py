"""The history of the data set: who sat which test when, every answer given, graded by the
bank's grader, and the aggregates those submissions leave (generated in Python, written by
bench.seed)."""

from __future__ import annotations

import queue
import random
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bench.content import SUBJECTS, QuestionRows
from studyhall.attempts.models import AttemptKind, AttemptMode, AttemptStatus, QuestionPool
from studyhall.questions.grading import grade
from studyhall.questions.models import QuestionType
from studyhall.questions.schemas import GradeResult, QuestionVersionRead
from studyhall.quizzes.models import FeedbackMode

# Rows are sent to the database in batches of about this many answers.
ITEM_BATCH = 50_000
ANSWERED_SHARE = 0.95
MARKED_SHARE = 0.05
CUSTOM_SHARE = 0.4


@dataclass(frozen=True)
class SeedSize:
    """How much to seed. The defaults are the issue's floor: 10,000 users, 5,000 questions,
    1,000,000 answers (25,000 attempts x 40 items)."""

    students: int = 9_949
    teachers: int = 50
    questions: int = 5_000
    quizzes: int = 200
    quiz_size: int = 40
    attempts: int = 25_000
    custom_size: int = 40
    days: int = 120

    @property
    def users(self) -> int:
        return self.students + self.teachers + 1

    @property
    def answers(self) -> int:
        return self.attempts * max(self.quiz_size, self.custom_size)


@dataclass
class Student:
    id: uuid.UUID
    skill: float  # chance of a right answer at difficulty 3
    pace: float  # typical seconds per question


@dataclass
class Quiz:
    id: uuid.UUID
    title: str
    questions: list[int]
    feedback_mode: str
    time_limit_seconds: int | None
    shuffle_questions: bool
    shuffle_options: bool
    pass_mark_percent: int


@dataclass
class Totals:
    """The aggregates `record_submission` and the attempts module keep."""

    user: dict[uuid.UUID, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    subject: dict[tuple[uuid.UUID, str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    daily: dict[tuple[uuid.UUID, date], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    # (student index, question index) -> [seen, correct, last_correct, marked, last_seen_at]
    states: dict[tuple[int, int], list[Any]] = field(default_factory=dict)


class Generator:
    def __init__(self, size: SeedSize, rng: random.Random, now: datetime) -> None:
        self.size = size
        self.rng = rng
        self.now = now
        self.bank: list[QuestionRows] = []
        self.by_subject: dict[str, list[int]] = defaultdict(list)
        self.quizzes: list[Quiz] = []
        self.students: list[Student] = []
        self.totals = Totals()
        self._verdicts: dict[tuple[int, bool], GradeResult] = {}

    # ------------------------------------------------------------ one answer

    def _response(
        self, read: QuestionVersionRead, order: Sequence[str], right: bool
    ) -> dict[str, Any]:
        rng = self.rng
        kind = read.type
        if kind in (QuestionType.SINGLE_CHOICE, QuestionType.TRUE_FALSE):
            correct = [o.id for o in read.options if o.correct]
            wrong = [o.id for o in read.options if not o.correct]
            return {"choice": correct[0] if right else rng.choice(wrong)}
        if kind is QuestionType.MULTIPLE_RESPONSE:
            chosen = {o.id for o in read.options if o.correct}
            if not right:
                wrong = [o.id for o in read.options if not o.correct]
                if wrong and rng.random() < 0.5:
                    chosen.add(rng.choice(wrong))
                else:
                    chosen.discard(rng.choice(sorted(chosen)))
            # The canonical form the attempts module stores: the attempt's option order.
            return {"choices": [option_id for option_id in order if option_id in chosen]}
        if kind is QuestionType.SHORT_ANSWER:
            return {"text": read.answer["accepted"][0] if right else "not sure"}
        value = float(read.answer["value"])
        return {"text": f"{value}" if right else f"{value + 7.5}"}

    def _graded(
        self, q: int, read: QuestionVersionRead, response: dict[str, Any], right: bool
    ) -> GradeResult:
        """The grader's verdict. Responses are built right or wrong on purpose, so the real
        grader checks the first of each kind per question and its verdict is reused."""
        key = (q, right)
        result = self._verdicts.get(key)
        if result is None:
            result = grade(read, response)
            if result.is_correct != right:
                raise AssertionError(f"{read.type} response {response} graded {result}")
            self._verdicts[key] = result
        return result

    # ------------------------------------------------------------ one attempt

    def attempt(
        self, student_index: int, submitted_at: datetime
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], tuple[Any, ...]]:
        """One submitted attempt: its row, its items and its attempt_results row."""
        rng, size = self.rng, self.size
        student = self.students[student_index]
        attempt_id = uuid.uuid4()
        settings: dict[str, Any] = {}
        quiz: Quiz | None = None
        if rng.random() < CUSTOM_SHARE or not self.quizzes:
            subject = rng.choice(SUBJECTS)
            pool = self.by_subject[subject]
            picked = rng.sample(pool, min(size.custom_size, len(pool)))
            tutor = rng.random() < 0.3
            mode = AttemptMode.TUTOR if tutor else AttemptMode.TIMED
            feedback = FeedbackMode.AFTER_EACH if tutor else FeedbackMode.AFTER_SUBMIT
            limit = None if tutor else 90 * len(picked)
            shuffle_options = rng.random() < 0.5
            kind = AttemptKind.CUSTOM
            title = f"{'Tutor' if tutor else 'Timed'} test: {len(picked)} questions ({subject})"
            pass_mark = None
            settings = {
                "requested": size.custom_size,
                "subjects": [subject],
                "systems": [],
                "pool": rng.choice((QuestionPool.ALL, QuestionPool.UNUSED)).value,
                "seconds_per_question": 90,
                "shuffle_options": shuffle_options,
            }
        else:
            quiz = rng.choice(self.quizzes)
            picked = list(quiz.questions)
            if quiz.shuffle_questions:
                rng.shuffle(picked)
            mode, kind, title = AttemptMode.STANDARD, AttemptKind.QUIZ, quiz.title
            feedback = FeedbackMode(quiz.feedback_mode)
            limit, shuffle_options = quiz.time_limit_seconds, quiz.shuffle_options
            pass_mark = quiz.pass_mark_percent
        locks = feedback is FeedbackMode.AFTER_EACH

        items: list[tuple[Any, ...]] = []
        answered = correct = spent = answered_time = 0
        per_group: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        seen: list[tuple[int, bool, bool, bool]] = []
        for position, q in enumerate(picked):
            rows = self.bank[q]
            read = rows.read
            order = [o.id for o in read.options]
            if shuffle_options and read.type is not QuestionType.TRUE_FALSE:
                rng.shuffle(order)
            seconds = max(5, min(600, int(student.pace * rng.lognormvariate(0, 0.5))))
            spent += seconds
            response: dict[str, Any] | None = None
            if rng.random() < ANSWERED_SHARE:
                difficulty = rows.question["difficulty"] or 3
                chance = min(0.97, max(0.05, student.skill - 0.06 * (difficulty - 3)))
                right = rng.random() < chance
                response = self._response(read, order, right)
                graded = self._graded(q, read, response, right)
            else:
                graded = grade(read, None)
            is_correct = graded.is_correct
            marked = rng.random() < MARKED_SHARE
            items.append(
                (
                    uuid.uuid4(),
                    attempt_id,
                    position,
                    read.question_id,
                    read.id,
                    order,
                    response,
                    is_correct,
                    graded.score,
                    seconds,
                    marked,
                    "",
                    None,  # answered_at, filled below once the start is known
                    locks and graded.answered,
                )
            )
            seen.append((q, graded.answered, is_correct, marked))
            if graded.answered:
                answered += 1
                correct += int(is_correct)
                answered_time += seconds
                group = per_group[(read.subject, read.system)]
                group[0] += 1
                group[1] += int(is_correct)
                group[2] += seconds
        count = len(items)
        active = spent + rng.randint(5, 120)
        if limit is not None:
            active = min(active, limit)
        started_at = submitted_at - timedelta(seconds=active)
        clock = started_at
        for i, item in enumerate(items):
            clock += timedelta(seconds=item[9])
            if item[6] is not None:
                items[i] = (*item[:12], min(clock, submitted_at), item[13])
        percent = round(100.0 * correct / count, 2) if count else 0.0
        attempt_row = (
            attempt_id,
            student.id,
            quiz.id if quiz else None,
            kind.value,
            mode.value,
            AttemptStatus.SUBMITTED.value,
            title,
            feedback.value,
            pass_mark,
            limit,
            started_at,
            started_at + timedelta(seconds=limit) if limit else None,
            None,
            0,
            submitted_at,
            False,
            2 + answered,
            count - 1,
            count,
            answered,
            correct,
            float(correct),
            float(count),
            percent,
            percent >= pass_mark if pass_mark is not None else None,
            active,
            settings,
            submitted_at,
        )
        result_row = (
            attempt_id,
            student.id,
            quiz.id if quiz else None,
            percent,
            count,
            answered,
            correct,
            active,
            submitted_at,
        )
        self._fold(student_index, submitted_at, answered, correct, answered_time, per_group, seen)
        return attempt_row, items, result_row

    def _fold(
        self,
        student_index: int,
        submitted_at: datetime,
        answered: int,
        correct: int,
        answered_time: int,
        per_group: dict[tuple[str, str], list[int]],
        seen: list[tuple[int, bool, bool, bool]],
    ) -> None:
        user_id = self.students[student_index].id
        totals = self.totals
        if answered:
            for target in (totals.user[user_id], totals.daily[(user_id, submitted_at.date())]):
                target[0] += answered
                target[1] += correct
                target[2] += answered_time
            for (subject, system), (n, c, t) in per_group.items():
                row = totals.subject[(user_id, subject, system)]
                row[0] += n
                row[1] += c
                row[2] += t
        for q, was_answered, is_correct, marked in seen:
            state = totals.states.get((student_index, q))
            if state is None:
                state = totals.states[(student_index, q)] = [0, 0, None, False, None]
            state[0] += 1
            state[1] += int(is_correct)
            if was_answered:
                state[2] = is_correct
            state[3] = marked
            state[4] = submitted_at


def schedule_of(gen: Generator) -> dict[int, list[datetime]]:
    """Who submitted when: a few keen students sit many tests, most a couple, some none."""
    rng, size, now = gen.rng, gen.size, gen.now
    weights = [rng.paretovariate(1.3) for _ in gen.students]
    counts = Counter(rng.choices(range(len(gen.students)), weights=weights, k=size.attempts))
    schedule: dict[int, list[datetime]] = {}
    for student, count in sorted(counts.items()):
        schedule[student] = sorted(
            now - timedelta(seconds=rng.uniform(600, size.days * 86400)) for _ in range(count)
        )
    return schedule


@dataclass
class Batch:
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    results: list[tuple[Any, ...]] = field(default_factory=list)


def produce(
    gen: Generator,
    schedule: dict[int, list[datetime]],
    batches: queue.Queue[Batch | BaseException | None],
    stop: threading.Event,
) -> None:
    """Generate the attempts in batches (a thread: the database writes one batch while the
    next is generated)."""

    def put(item: Batch | BaseException | None) -> None:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    try:
        batch = Batch()
        for student, moments in schedule.items():
            if stop.is_set():
                return
            for moment in moments:
                attempt_row, item_rows, result_row = gen.attempt(student, moment)
                batch.attempts.append(attempt_row)
                batch.items.extend(item_rows)
                batch.results.append(result_row)
            if len(batch.items) >= ITEM_BATCH:
                put(batch)
                batch = Batch()
        put(batch)
        put(None)
    except BaseException as error:  # handed to the writer, which raises it
        put(error)
