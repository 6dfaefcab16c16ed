"""The one pagination of every list behind the gateway: ``{"items": [...], "next_cursor": ...}``.

Keyset (cursor) pagination: stable under inserts and constant cost at any depth. A list endpoint
takes ``cursor`` (the previous page's ``next_cursor``) and ``limit``; a repository runs
:func:`keyset_page` (or :func:`newest_first`, its most common use) and returns the page's rows
with the keyset of its last row when more follow; the router answers :meth:`CursorPage.build`.

A cursor is opaque to clients (URL-safe base64 of the keyset values); one that was not made by
us is a 422 problem naming the ``cursor`` field, never a 500.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from aintech_shared.errors import UnprocessableEntity

T = TypeVar("T")
M = TypeVar("M")
Kind = Literal["datetime", "uuid", "str", "int"]

MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (max {MAX_LIMIT}).")]
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
    """One page of a list; follow ``next_cursor`` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )

    @classmethod
    def build(
        cls, rows: Iterable[Any], next_key: list[Any] | None, *, item: Callable[[Any], T]
    ) -> CursorPage[T]:
        """The page of ``rows`` (each turned into an item by ``item``) and the cursor of ``next_key``."""
        return cls(items=[item(r) for r in rows], next_cursor=encode_cursor(next_key) if next_key else None)


def encode_cursor(values: list[Any]) -> str:
    """The opaque cursor of a keyset (values already JSON-able: ISO instants, UUID strings, ints)."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def _typed(kind: str, value: Any) -> Any:
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**63 - 1:
            raise ValueError("cursor integers are 64-bit")
        return value
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


def decode_cursor(cursor: str | None, *, kinds: tuple[Kind, ...]) -> list[Any] | None:
    """The typed keyset values of a cursor (kinds: datetime, uuid, str, int); 422 when not one of ours."""
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


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def keyset_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    *,
    keys: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    descending: bool = True,
    after: list[Any] | None,
    limit: int,
    key_of: Callable[[Any], list[Any]] | None = None,
    scalars: bool = True,
) -> tuple[list[Any], list[Any] | None]:
    """One page of ``query`` ordered by ``keys`` (all descending, or all ascending), after the
    keyset ``after``; and the keyset of the page's last row when more rows follow (else None).

    ``keys`` must end with a unique column (the id) so the order is total. Rows are the first
    entity of each result (``scalars``) or whole result rows (``scalars=False``); the keyset of a
    row is read from its attributes named like ``keys``, or computed by ``key_of`` (for keys that
    are expressions, e.g. a COALESCE that puts NULLs last).
    """
    if after is not None:
        row_key = tuple_(*keys)
        query = query.where(row_key < tuple(after) if descending else row_key > tuple(after))
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    query = query.order_by(*order).limit(limit + 1)
    result = await (session.scalars(query) if scalars else session.execute(query))
    rows = list(result.all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    values = key_of(last) if key_of else [getattr(last, str(getattr(k, "key", ""))) for k in keys]
    return rows, [_json(v) for v in values]


async def newest_first(
    session: AsyncSession,
    model: type[M],
    *,
    at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[uuid.UUID],
    conditions: Sequence[ColumnElement[bool]],
    after: list[Any] | None,
    limit: int,
) -> tuple[list[M], list[Any] | None]:
    """One page of ``model`` rows matching ``conditions``, by (``at``, ``id_``) descending (cursor
    kinds: ``("datetime", "uuid")``)."""
    return await keyset_page(
        session, select(model).where(*conditions), keys=(at, id_), after=after, limit=limit
    )
