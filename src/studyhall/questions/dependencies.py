"""Who is acting on the bank: the signed-in principal as the questions service sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from studyhall.accounts.dependencies import CurrentUser
from studyhall.accounts.schemas import Role
from studyhall.accounts.service import Principal
from studyhall.questions.service import Author

AUTHOR_ROLES = frozenset({Role.TEACHER, Role.ADMIN})


def author_of(principal: Principal) -> Author:
    """Roles come from the server-side session, never from the request."""
    return Author(
        id=principal.id,
        is_admin=Role.ADMIN in principal.roles,
        can_author=bool(principal.roles & AUTHOR_ROLES),
    )


async def get_question_actor(principal: CurrentUser) -> Author:
    return author_of(principal)


QuestionActor = Annotated[Author, Depends(get_question_actor)]
