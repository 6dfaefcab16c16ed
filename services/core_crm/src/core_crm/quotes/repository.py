"""Queries on quotes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import QuoteStatus
from aintech_shared.pagination import newest_first
from core_crm.quotes.models import OPEN_QUOTE_STATUSES, Quote


async def get(session: AsyncSession, quote_id: uuid.UUID, *, for_update: bool = False) -> Quote | None:
    query = select(Quote).where(Quote.id == quote_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, quote: Quote) -> None:
    session.add(quote)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def search(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    quote_type: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Quote], list[Any] | None]:
    conditions: list[ColumnElement[bool]] = []
    if customer_id is not None:
        conditions.append(Quote.customer_id == customer_id)
    if statuses:
        conditions.append(Quote.status.in_(statuses))
    if quote_type:
        conditions.append(Quote.quote_type == quote_type)
    return await newest_first(
        session, Quote, at=Quote.created_at, id_=Quote.id, conditions=conditions, after=after, limit=limit
    )


async def expire_overdue(session: AsyncSession) -> int:
    """Expire open quotes whose validity has passed."""
    result = await session.execute(
        update(Quote)
        .where(Quote.status.in_(OPEN_QUOTE_STATUSES), Quote.valid_until < func.now())
        .values(status=QuoteStatus.expired, version=Quote.version + 1, updated_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def for_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Quote]:
    rows = await session.scalars(
        select(Quote).where(Quote.customer_id == customer_id).order_by(Quote.created_at)
    )
    return rows.all()


async def by_pricing_request(session: AsyncSession, request_id: uuid.UUID) -> Quote | None:
    """The quote created for an engine pricing request, if any."""
    query = select(Quote).where(Quote.attributes["pricing"]["request_id"].astext == str(request_id)).limit(1)
    return (await session.scalars(query)).first()


async def by_number(session: AsyncSession, number: str) -> Quote | None:
    return (await session.scalars(select(Quote).where(Quote.quote_number == number))).first()


async def converted_into(session: AsyncSession, policy_id: uuid.UUID) -> Quote | None:
    """The quote a policy was sold from, if any."""
    return (await session.scalars(select(Quote).where(Quote.policy_id == policy_id).limit(1))).first()
