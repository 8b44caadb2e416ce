"""`?limit=&offset=` and the `{items, total, limit, offset}` body of every list."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class PageParams(BaseModel):
    limit: int = 20
    offset: int = 0


def _page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page (1..100)")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Pagination = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


async def paginate_rows(
    session: AsyncSession, query: Select[tuple[object, ...]], page: PageParams
) -> tuple[list[object], int]:
    """The page of rows of `query` (already ordered) and the total count."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.execute(query.limit(page.limit).offset(page.offset))).all()
    return [row[0] if len(row) == 1 else row for row in rows], int(total or 0)
