"""Page-number pagination shared by the list endpoints."""

from __future__ import annotations

import math
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")

PageNumber = Annotated[int, Query(ge=1, le=100_000, description="1-based page number.")]
PageSize = Annotated[int, Query(ge=1, le=200, description="Items per page (max 200).")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int

    @classmethod
    def build(cls, items: list[T], *, total: int, page: int, page_size: int) -> Page[T]:
        return cls(
            items=items, total=total, page=page, page_size=page_size, pages=math.ceil(total / page_size)
        )
