"""Queries on stored calculations and comparisons."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quote_engine.quotes.models import Calculation


async def add(session: AsyncSession, row: Calculation) -> None:
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, calculation_id: uuid.UUID) -> Calculation | None:
    return await session.get(Calculation, calculation_id)


async def recent_for_product(
    session: AsyncSession, product_code: str, *, limit: int
) -> Sequence[Calculation]:
    """The latest calculations of a product, newest first."""
    query = (
        select(Calculation)
        .where(Calculation.kind == "calculation", Calculation.product_code == product_code)
        .order_by(Calculation.created_at.desc(), Calculation.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def by_crm_request(session: AsyncSession, request_id: uuid.UUID) -> Calculation | None:
    query = select(Calculation).where(Calculation.crm_request_id == request_id).limit(1)
    return (await session.scalars(query)).first()


async def latest_comparison(session: AsyncSession, customer_id: uuid.UUID, line: str) -> Calculation | None:
    """The customer's most recent comparison of a line."""
    query = (
        select(Calculation)
        .where(
            Calculation.kind == "comparison", Calculation.customer_id == customer_id, Calculation.line == line
        )
        .order_by(Calculation.created_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()
