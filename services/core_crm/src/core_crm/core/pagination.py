"""Cursor (keyset) pagination: stable under inserts, constant cost at any depth."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field

from aintech_shared.errors import UnprocessableEntity

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (max 200).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=500,
        pattern=r"^[A-Za-z0-9_\-=]*$",
        description="`next_cursor` of the previous page, as it was returned (opaque: any other text "
        "is refused with 422).",
    ),
]


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def _typed(kind: str, value: Any) -> Any:
    if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
        raise ValueError("cursor values are short strings")
    if kind == "datetime":
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("cursor instants carry a time zone")
        return parsed
    if kind == "uuid":
        return uuid.UUID(value)
    return value


def decode_cursor(cursor: str | None, *, kinds: tuple[str, ...]) -> list[Any] | None:
    """The typed keyset values of a cursor (kinds: datetime, uuid, str); 422 when not one of ours."""
    if not cursor:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return [_typed(kind, value) for kind, value in zip(kinds, values, strict=True)]
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise _bad_cursor() from exc


def _bad_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is invalid; start again without one.",
        errors=[{"location": "query", "field": "cursor", "message": "invalid cursor", "type": "cursor"}],
    )
