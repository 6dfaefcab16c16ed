"""Every query on observed prices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import transaction_driver
from quote_engine.observed.models import ObservedPrice


async def add(session: AsyncSession, values: dict[str, object]) -> None:
    """Insert once per event (a redelivered event changes nothing)."""
    await session.execute(
        insert(ObservedPrice).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    )


_COLUMNS = ", ".join(c.name for c in ObservedPrice.__table__.columns)
_TABLE = ObservedPrice.__table__.fullname  # type: ignore[attr-defined]
# Prices observed for a comparison, or for a risk in its postal code since a time ($2, $3 null:
# the comparison's own only). Asked once per comparison: pre-written, on the session's driver.
_FOR_COMPARISON = (
    f"SELECT {_COLUMNS} FROM {_TABLE} WHERE quote_id = $1 "  # noqa: S608 (names only)
    "OR (postal_code = $2 AND observed_at >= $3) ORDER BY observed_at DESC LIMIT 200"
)


async def for_comparison(
    session: AsyncSession, *, quote_id: uuid.UUID, postal_code: str | None, since: datetime
) -> list[ObservedPrice]:
    """Prices observed for this comparison, or for a risk in its postal code since ``since``
    (detached rows, newest first)."""
    conn = await transaction_driver(session)
    rows = await conn.fetch(
        _FOR_COMPARISON, quote_id, postal_code, since if postal_code is not None else None
    )
    return [ObservedPrice(**dict(row)) for row in rows]
