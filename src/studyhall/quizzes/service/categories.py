"""Categories quizzes are browsed by: teachers and admins write them, everyone reads them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache
from studyhall.core.errors import Conflict, Forbidden, NotFound
from studyhall.core.pagination import Page, PageParams, page_of, paginate
from studyhall.quizzes.models import Category, Quiz
from studyhall.quizzes.schemas import CategoryCreate, CategoryRead, CategoryUpdate
from studyhall.quizzes.service.common import (
    CATEGORIES_TAG,
    CATEGORY_LIST_TTL,
    QUIZ_DETAILS_TAG,
    QUIZ_LISTS_TAG,
    Actor,
    invalidate,
    require_author,
    slugify,
)

# A picker lists every category; more than this is a sign of misuse, not a real catalogue.
MAX_CATEGORIES_LISTED = 1000


def _read(category: Category) -> CategoryRead:
    return CategoryRead(
        id=category.id, name=category.name, slug=category.slug, description=category.description
    )


async def _load(db: AsyncSession, category_id: uuid.UUID) -> Category:
    category = await db.get(Category, category_id)
    if category is None:
        raise NotFound("No such category.", code="category_not_found")
    return category


async def _refuse_taken_name(
    db: AsyncSession, name: str, except_id: uuid.UUID | None = None
) -> None:
    query = select(Category.id).where(func.lower(Category.name) == name.lower())
    if except_id is not None:
        query = query.where(Category.id != except_id)
    if await db.scalar(query.limit(1)) is not None:
        raise Conflict(f"A category named “{name}” already exists.", code="category_name_taken")


async def _unique_slug(db: AsyncSession, name: str, except_id: uuid.UUID | None = None) -> str:
    base = slugify(name)
    query = select(Category.slug).where((Category.slug == base) | Category.slug.like(f"{base}-%"))
    if except_id is not None:
        query = query.where(Category.id != except_id)
    taken = set(await db.scalars(query))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


async def _changed(db: AsyncSession) -> None:
    # Quiz lists and details show the category's name, so they go too (categories change
    # rarely; dropping every quiz entry is simpler than tracking which show this one).
    await invalidate(db, tags=(CATEGORIES_TAG, QUIZ_DETAILS_TAG, QUIZ_LISTS_TAG))


async def create_category(db: AsyncSession, actor: Actor, data: CategoryCreate) -> CategoryRead:
    """A new category; its slug comes from the name and is unique (`-2`, `-3` on a clash)."""
    require_author(actor)
    await _refuse_taken_name(db, data.name)
    category = Category(
        name=data.name, slug=await _unique_slug(db, data.name), description=data.description
    )
    db.add(category)
    await db.flush()
    await _changed(db)
    return _read(category)


async def update_category(
    db: AsyncSession, actor: Actor, category_id: uuid.UUID, data: CategoryUpdate
) -> CategoryRead:
    """Rename or redescribe; a new name gives a new slug (old links by slug stop working)."""
    require_author(actor)
    category = await _load(db, category_id)
    if data.name is not None and data.name != category.name:
        await _refuse_taken_name(db, data.name, except_id=category.id)
        if slugify(data.name) != slugify(category.name):
            category.slug = await _unique_slug(db, data.name, except_id=category.id)
        category.name = data.name
    if data.description is not None:
        category.description = data.description
    await db.flush()
    await _changed(db)
    return _read(category)


async def delete_category(db: AsyncSession, actor: Actor, category_id: uuid.UUID) -> None:
    """Admins only. Its quizzes stay, without a category."""
    if not actor.is_admin:
        raise Forbidden("Only admins delete categories.", code="insufficient_role")
    category = await _load(db, category_id)
    await db.execute(update(Quiz).where(Quiz.category_id == category.id).values(category_id=None))
    await db.delete(category)
    await db.flush()
    await _changed(db)


async def get_category(db: AsyncSession, category_id: uuid.UUID) -> CategoryRead:
    return _read(await _load(db, category_id))


async def list_categories(db: AsyncSession, params: PageParams) -> Page[CategoryRead]:
    """By name, the same for every signed-in user; cached for a day."""

    # Cached as a plain tuple: a parametrized generic model does not unpickle everywhere.
    async def load() -> tuple[list[CategoryRead], int]:
        statement = select(Category).order_by(Category.name, Category.id)
        page = await paginate(db, statement, params, _reads)
        return page.items, page.total

    items, total = await cache.get_or_set(
        f"categories:page:{params.page}:{params.per_page}",
        CATEGORY_LIST_TTL,
        load,
        tags=(CATEGORIES_TAG,),
    )
    return page_of(items, total, params)


def _reads(categories: Sequence[Category]) -> list[CategoryRead]:
    return [_read(category) for category in categories]


async def all_categories(db: AsyncSession) -> list[CategoryRead]:
    """Every category by name (up to a thousand), for pickers and browse menus; cached."""

    async def load() -> list[CategoryRead]:
        rows = await db.scalars(
            select(Category).order_by(Category.name, Category.id).limit(MAX_CATEGORIES_LISTED)
        )
        return [_read(c) for c in rows]

    return await cache.get_or_set("categories:all", CATEGORY_LIST_TTL, load, tags=(CATEGORIES_TAG,))
