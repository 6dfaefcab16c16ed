"""Keep the latest churn risk per customer; dynamic pricing reads it when a request gives none."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.analytics import ChurnScored
from quote_engine.churn.models import CustomerChurn


async def record_score(session: AsyncSession, *, data: ChurnScored) -> None:
    """Store the score unless a later one is already stored (events may arrive out of order)."""
    probability = Decimal(str(data.probability)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    stmt = insert(CustomerChurn).values(
        customer_id=data.customer_id, probability=probability, band=data.band, scored_at=data.scored_at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[CustomerChurn.customer_id],
        set_={
            "probability": stmt.excluded.probability,
            "band": stmt.excluded.band,
            "scored_at": stmt.excluded.scored_at,
        },
        where=CustomerChurn.scored_at < stmt.excluded.scored_at,
    )
    await session.execute(stmt)


async def latest_risk(session: AsyncSession, *, customer_id: uuid.UUID) -> Decimal | None:
    """The customer's latest churn probability from analytics, if any."""
    row = await session.scalar(
        select(CustomerChurn.probability).where(CustomerChurn.customer_id == customer_id)
    )
    return row
