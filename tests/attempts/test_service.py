"""Service functions other modules call, and the user's question history."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import service as analytics
from studyhall.attempts import service
from studyhall.attempts.models import UserQuestionState
from tests.attempts.conftest import (
    Bank,
    answer,
    item_of_type,
    new_quiz,
    option_id,
    start_quiz,
    submit,
)
from tests.conftest import SignedInUser, deliver_events


async def test_analytics_receives_the_responses_and_attempts_keeps_the_history(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    other_learner: SignedInUser,
    bank: Bank,
) -> None:
    question_id = bank.ids["single_choice"]
    quiz_id = await new_quiz(client, teacher, [question_id, bank.ids["true_false"]])
    graded = {}
    for user, text in ((learner, "Left ventricle"), (other_learner, "Right ventricle")):
        attempt = await start_quiz(client, user, quiz_id)
        item = item_of_type(attempt, "single_choice")
        await answer(
            client, user, attempt["id"], item["position"], {"choice": option_id(item, text)}
        )
        graded[attempt["id"]] = (await submit(client, user, attempt["id"])).json()
    open_attempt = await start_quiz(client, learner, quiz_id)  # not submitted: not counted

    await deliver_events(app)
    await db.commit()  # a new transaction: sees what the delivery committed
    rows = await analytics.responses_for_question(db, uuid.UUID(question_id))
    assert {str(row.attempt_id) for row in rows} == set(graded)
    assert str(open_attempt["id"]) not in {str(row.attempt_id) for row in rows}
    by_attempt = {str(row.attempt_id): row for row in rows}
    for attempt_id, result in graded.items():
        row = by_attempt[attempt_id]
        assert row.attempt_percent == result["percent"]
        assert row.is_correct is (result["correct_count"] == 1)
        assert row.response is not None and set(row.response) == {"choice"}
    assert len({row.question_version_id for row in rows}) == 1

    # History: seen once each, right for one and wrong for the other; the unanswered true/false
    # counts as seen without a result.
    states = (
        await db.scalars(
            select(UserQuestionState).where(UserQuestionState.question_id == uuid.UUID(question_id))
        )
    ).all()
    assert sorted((s.times_seen, s.times_correct, s.last_correct) for s in states) == [
        (1, 0, False),
        (1, 1, True),
    ]
    tf_state = await db.scalar(
        select(UserQuestionState).where(
            UserQuestionState.question_id == uuid.UUID(bank.ids["true_false"]),
            UserQuestionState.user_id == uuid.UUID(learner.id),
        )
    )
    assert tf_state is not None and tf_state.times_seen == 1 and tf_state.last_correct is None
    assert await service.count_quiz_attempts(db, uuid.UUID(quiz_id), uuid.UUID(learner.id)) == 2
