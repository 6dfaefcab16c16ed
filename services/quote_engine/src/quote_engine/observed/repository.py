"""Every query on observed prices."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import statement_driver
from quote_engine.observed.models import ObservedPrice


async def add(session: AsyncSession, values: dict[str, object]) -> None:
    """Insert once per event (a redelivered event changes nothing)."""
    await session.execute(
        insert(ObservedPrice).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    )


_COLUMNS = ", ".join(c.name for c in ObservedPrice.__table__.columns)
_TABLE = ObservedPrice.__table__.fullname  # type: ignore[attr-defined]


def for_comparison_sql(first: int = 1) -> str:
    """The query of :func:`for_comparison`, its three parameters numbered from ``first`` (for a
    statement that ends with it: ``quote_id``, ``postal_code``, ``since``)."""
    a, b, c = (f"${first + i}" for i in range(3))
    return (
        f"SELECT {_COLUMNS} FROM {_TABLE} WHERE quote_id = {a} "  # noqa: S608 (names only)
        f"OR (postal_code = {b} AND observed_at >= {c}) ORDER BY observed_at DESC LIMIT 200"
    )


def for_comparison_args(quote_id: uuid.UUID, postal_code: str | None, since: datetime) -> list[object]:
    return [quote_id, postal_code, since if postal_code is not None else None]


def detached(rows: Iterable[Any]) -> list[ObservedPrice]:
    """Rows of :func:`for_comparison_sql` as (detached) observed prices."""
    return [ObservedPrice(**dict(row)) for row in rows]


# Prices observed for a comparison, or for a risk in its postal code since a time ($2, $3 null:
# the comparison's own only). Asked once per comparison: pre-written, on the session's driver.
_FOR_COMPARISON = for_comparison_sql()


async def for_comparison(
    session: AsyncSession, *, quote_id: uuid.UUID, postal_code: str | None, since: datetime
) -> list[ObservedPrice]:
    """Prices observed for this comparison, or for a risk in its postal code since ``since``
    (detached rows, newest first)."""
    conn = await statement_driver(session)
    return detached(await conn.fetch(_FOR_COMPARISON, *for_comparison_args(quote_id, postal_code, since)))
