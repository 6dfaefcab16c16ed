"""The one keyset query behind every "newest first" list: stable under inserts, constant cost at any depth."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core_crm.core.base import Base

M = TypeVar("M", bound=Base)


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
    """One page of ``model`` rows matching ``conditions``, by (``at``, ``id_``) descending, after the
    keyset ``after``; and the keyset of the page's last row when more rows follow (else None)."""
    where = list(conditions)
    if after is not None:
        where.append(tuple_(at, id_) < (after[0], after[1]))
    query = select(model).where(*where).order_by(at.desc(), id_.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, [getattr(last, at.key).isoformat(), str(getattr(last, id_.key))]
