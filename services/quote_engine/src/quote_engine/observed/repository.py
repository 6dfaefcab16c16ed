"""Every query on observed prices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from quote_engine.observed.models import ObservedPrice


async def add(session: AsyncSession, values: dict[str, object]) -> None:
    """Insert once per event (a redelivered event changes nothing)."""
    await session.execute(
        insert(ObservedPrice).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    )


async def for_comparison(
    session: AsyncSession, *, quote_id: uuid.UUID, postal_code: str | None, since: datetime
) -> list[ObservedPrice]:
    """Prices observed for this comparison, or for a risk in its postal code since ``since``."""
    match = ObservedPrice.quote_id == quote_id
    if postal_code is not None:
        match = or_(match, (ObservedPrice.postal_code == postal_code) & (ObservedPrice.observed_at >= since))
    query = select(ObservedPrice).where(match).order_by(ObservedPrice.observed_at.desc()).limit(200)
    return list((await session.scalars(query)).all())
