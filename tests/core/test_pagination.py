"""The one pagination helper: a query's page (count + window) and a list's page, on the real
database of the run (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.pagination import Page, PageParams, paginate, slice_page
from studyhall.quizzes.models import Category
from tests.backends import recorded_statements

NAMES = [f"Category {letter}" for letter in "ABCDEFG"]  # 7: pages of 3 are 3, 3, 1


def _names(categories: Sequence[Category]) -> list[str]:
    return [category.name for category in categories]


def _by_name() -> Any:
    return select(Category).order_by(Category.name)


@pytest.fixture
async def categories(db: AsyncSession) -> list[str]:
    db.add_all(Category(name=name, slug=name.lower().replace(" ", "-")) for name in NAMES)
    await db.commit()
    return NAMES


async def test_empty_list_is_one_empty_page(db: AsyncSession) -> None:
    page = await paginate(db, _by_name(), PageParams(page=1, per_page=3), _names)
    assert page == Page(items=[], total=0, page=1, per_page=3)
    assert page.pages == 1


async def test_pages_in_order_and_the_last_one_partial(
    db: AsyncSession, categories: list[str]
) -> None:
    pages = [
        await paginate(db, _by_name(), PageParams(page=number, per_page=3), _names)
        for number in (1, 2, 3)
    ]
    assert [page.items for page in pages] == [NAMES[0:3], NAMES[3:6], NAMES[6:7]]
    assert {page.total for page in pages} == {7}
    assert [page.page for page in pages] == [1, 2, 3]
    assert pages[0].pages == 3


async def test_page_past_the_end_is_empty_with_the_true_total_and_no_row_query(
    app: FastAPI, db: AsyncSession, categories: list[str]
) -> None:
    with recorded_statements(app.state.engine) as statements:
        page = await paginate(db, _by_name(), PageParams(page=4, per_page=3), _names)
    assert page == Page(items=[], total=7, page=4, per_page=3)
    assert len(statements) == 1 and "count(" in statements[0].lower(), statements


async def test_given_total_is_used_as_is_and_the_rows_still_read(
    db: AsyncSession, categories: list[str]
) -> None:
    counting = select(func.count()).select_from(Category).where(Category.name < "Category C")
    counted = await paginate(db, _by_name(), PageParams(page=1, per_page=3), _names, total=counting)
    assert (counted.items, counted.total) == (NAMES[:3], 2)
    # A known number: the rows are read even past it (it may lag behind the table).
    known = await paginate(db, _by_name(), PageParams(page=2, per_page=3), _names, total=1)
    assert (known.items, known.total) == (NAMES[3:6], 1)


async def test_rows_of_several_columns_and_an_async_transform(
    db: AsyncSession, categories: list[str]
) -> None:
    statement = select(Category.name, Category.slug).order_by(Category.name.desc())

    async def pairs(rows: Sequence[Row[str, str]]) -> list[str]:
        return [f"{name}={slug}" for name, slug in rows]

    page = await paginate(db, statement, PageParams(page=3, per_page=3), pairs)
    assert page.items == ["Category A=category-a"]
    assert page.total == 7


async def test_total_of_a_grouped_query_counts_its_groups(
    db: AsyncSession, categories: list[str]
) -> None:
    first_letters = func.substr(Category.slug, 1, 1)
    statement = select(first_letters, func.count()).group_by(first_letters).order_by(first_letters)
    page = await paginate(db, statement, PageParams(page=1, per_page=5), lambda rows: list(rows))
    assert page.total == 1  # every slug starts with "c"
    assert [tuple(row) for row in page.items] == [("c", 7)]


def test_slice_page_of_a_list() -> None:
    letters = list("abcdefg")
    assert slice_page(letters, PageParams(page=3, per_page=3)) == Page(
        items=["g"], total=7, page=3, per_page=3
    )
    assert slice_page(letters, PageParams(page=9, per_page=3)).items == []
    assert slice_page([], PageParams()) == Page(items=[], total=0, page=1, per_page=20)
