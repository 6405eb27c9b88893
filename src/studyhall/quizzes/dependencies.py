"""Who is acting on quizzes: the signed-in principal as the quizzes service sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from studyhall.accounts.dependencies import CurrentUser
from studyhall.accounts.service import Principal
from studyhall.quizzes.service import Actor


def actor_of(principal: Principal) -> Actor:
    """Roles come from the server-side session, never from the request."""
    return Actor.of(principal.id, principal.roles)


async def get_quiz_actor(principal: CurrentUser) -> Actor:
    return actor_of(principal)


QuizActor = Annotated[Actor, Depends(get_quiz_actor)]
