"""Cursor (keyset) pagination: stable under inserts, constant cost at any depth."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field

from aintech_shared.errors import UnprocessableEntity

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (max 200).")]
Cursor = Annotated[
    str | None,
    Query(max_length=500, pattern=r"^[A-Za-z0-9_\-=]*$", description="`next_cursor` of the previous page."),
]


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def decode_cursor(cursor: str | None, *, size: int) -> list[Any] | None:
    """The keyset values of a cursor; 422 when it was not issued by this API."""
    if not cursor:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(values, list) or len(values) != size:
        raise _bad_cursor()
    return values


def _bad_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is invalid; start again without one.",
        errors=[{"location": "query", "field": "cursor", "message": "invalid cursor", "type": "cursor"}],
    )
