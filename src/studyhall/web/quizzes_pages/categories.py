"""Managing the categories quizzes are browsed by (teachers and admins)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from studyhall.accounts.service import Principal
from studyhall.core.errors import StudyhallError
from studyhall.quizzes import actions, service
from studyhall.quizzes.actions import author_of
from studyhall.quizzes.schemas import CategoryCreate, CategoryRead, CategoryUpdate
from studyhall.web.deps import PageDb, SignedIn, abandon
from studyhall.web.forms import FormState
from studyhall.web.quizzes_pages.common import (
    CATEGORIES,
    CATEGORY_MESSAGES,
    done_message,
    parse_form_data,
)
from studyhall.web.rendering import render
from studyhall.web.routing import page_router, redirect

router = page_router()


# ---------------------------------------------------------------- categories


async def _categories_page(
    request: Request,
    db: AsyncSession,
    viewer: Principal,
    forms: Mapping[str, FormState] | None = None,
    status_code: int = 200,
) -> Response:
    actor = author_of(viewer)
    categories: list[CategoryRead] = await service.all_categories(db)
    states = dict(forms or {})
    context = {
        "active": "quizzes",
        "categories": categories,
        "new_form": states.get("new") or FormState(id_prefix="new-"),
        "category_forms": {
            str(c.id): states.get(str(c.id))
            or FormState.of({"name": c.name, "description": c.description}, f"c{c.id}-")
            for c in categories
        },
        "can_delete": actor.is_admin,
        "done": done_message(request),
        "page_has_errors": any(state.has_errors for state in states.values()),
    }
    return render(request, "quizzes/categories.html", context, status_code=status_code)


def _category_form(form: FormData, prefix: str) -> FormState:
    values = {name: str(form.get(name) or "") for name in ("name", "description")}
    return FormState.of(values, prefix)


NAME_FIELD = {"category_name_taken": "name"}


@router.get(CATEGORIES)
async def categories_page(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    return await _categories_page(request, db, viewer)


@router.post(CATEGORIES)
async def create_category(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    state = _category_form(await request.form(), "new-")
    data = parse_form_data(CategoryCreate, state.values, state, CATEGORY_MESSAGES)
    if data is None:
        return await _categories_page(request, db, viewer, {"new": state}, state.status)
    try:
        await actions.create_category(db, viewer, data)
    except StudyhallError as exc:
        if exc.code not in NAME_FIELD:
            raise
        await abandon(db)
        state.fail(exc, NAME_FIELD)
        return await _categories_page(request, db, viewer, {"new": state}, exc.status)
    return redirect(f"{CATEGORIES}?done=category-created")


@router.post(CATEGORIES + "/{category_id}/edit")
async def update_category(
    category_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    key = str(category_id)
    state = _category_form(await request.form(), f"c{category_id}-")
    data = parse_form_data(CategoryUpdate, state.values, state, CATEGORY_MESSAGES)
    if data is None:
        return await _categories_page(request, db, viewer, {key: state}, state.status)
    try:
        await actions.update_category(db, viewer, category_id, data)
    except StudyhallError as exc:
        if exc.code not in NAME_FIELD:
            raise
        await abandon(db)
        state.fail(exc, NAME_FIELD)
        return await _categories_page(request, db, viewer, {key: state}, exc.status)
    return redirect(f"{CATEGORIES}?done=category-saved")


@router.post(CATEGORIES + "/{category_id}/delete")
async def delete_category(category_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    await actions.delete_category(db, viewer, category_id)
    return redirect(f"{CATEGORIES}?done=category-deleted")
