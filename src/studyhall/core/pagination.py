"""Page parameters, the paginated envelope every list endpoint returns, and the one way to
fill it: `paginate` for a query, `slice_page` for a list already in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_PER_PAGE = 100


class PageParams(BaseModel):
    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


# Dependencies are async even without I/O: FastAPI runs a plain `def` one in a thread.
async def _page_params(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


Pagination = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_of(items: Sequence[T], total: int, params: PageParams) -> Page[T]:
    """The page `params` asks for, holding `items` (that page's rows) of `total`."""
    return Page(items=list(items), total=total, page=params.page, per_page=params.per_page)


def slice_page(everything: Sequence[T], params: PageParams) -> Page[T]:
    """The page `params` asks for, cut from a whole list held in memory."""
    window = everything[params.offset : params.offset + params.per_page]
    return page_of(window, len(everything), params)


ToItems = Callable[[Sequence[Any]], "list[T] | Awaitable[list[T]]"]


async def paginate(
    db: AsyncSession,
    statement: Select[*tuple[Any, ...]],
    params: PageParams,
    to_items: ToItems[T],
    *,
    total: Select[*tuple[Any, ...]] | int | None = None,
) -> Page[T]:
    """Run `statement` (ordered, unpaginated) for the page `params` asks for.

    `to_items` turns the page's rows into its items, all at once (so it can look up what
    the rows refer to in one query); it may be async. The rows are the selected entity or
    value when `statement` selects one, else `Row`s.

    `total` is counted from `statement` unless given: as a statement returning the count
    (when a cheaper query knows it) or as the number itself. A page past the end has no
    items and the true total; when the helper counted, it skips the rows' query then.
    """
    counted = total is None or not isinstance(total, int)
    if total is None:
        total = select(func.count()).select_from(statement.order_by(None).subquery())
    if not isinstance(total, int):
        total = int(await db.scalar(total) or 0)
    rows: Sequence[Any] = []
    if not counted or params.offset < total:
        result = await db.execute(statement.offset(params.offset).limit(params.per_page))
        rows = result.scalars().all() if len(statement.column_descriptions) == 1 else result.all()
    produced = to_items(rows)
    items = produced if isinstance(produced, list) else await produced
    return page_of(items, total, params)
