"""Who is acting on the bank: the signed-in principal as the questions service sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from studyhall.accounts.dependencies import CurrentUser
from studyhall.questions.actions import author_of
from studyhall.questions.service import Author

__all__ = ["QuestionActor", "author_of", "get_question_actor"]


async def get_question_actor(principal: CurrentUser) -> Author:
    return author_of(principal)


QuestionActor = Annotated[Author, Depends(get_question_actor)]
