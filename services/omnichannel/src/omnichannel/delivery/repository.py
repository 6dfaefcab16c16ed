"""Queries of parked deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import keyset_page
from omnichannel.contacts.models import Contact
from omnichannel.delivery.models import CrmEmailRequest, ParkedDelivery


async def park(session: AsyncSession, values: dict[str, Any]) -> None:
    """Park once per event (a redelivered event is already parked)."""
    await session.execute(
        insert(ParkedDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[ParkedDelivery.event_id])
    )


async def waiting_for(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[ParkedDelivery]:
    """The customer's parked deliveries in arrival order, locked (a concurrent release skips them)."""
    return (
        await session.scalars(
            select(ParkedDelivery)
            .where(ParkedDelivery.customer_id == customer_id, ParkedDelivery.status == "parked")
            .order_by(ParkedDelivery.parked_at, ParkedDelivery.event_id)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def customers_now_known(session: AsyncSession, *, limit: int) -> Sequence[uuid.UUID]:
    """Customers with parked deliveries who are in the read model by now."""
    return (
        await session.scalars(
            select(ParkedDelivery.customer_id)
            .join(Contact, Contact.customer_id == ParkedDelivery.customer_id)
            .where(ParkedDelivery.status == "parked")
            .group_by(ParkedDelivery.customer_id)
            .order_by(func.min(ParkedDelivery.parked_at))
            .limit(limit)
        )
    ).all()


async def expire(
    session: AsyncSession, *, parked_before: datetime, now: datetime
) -> Sequence[ParkedDelivery]:
    """Mark every delivery parked before ``parked_before`` expired; the rows expired."""
    return (
        await session.scalars(
            update(ParkedDelivery)
            .where(ParkedDelivery.status == "parked", ParkedDelivery.parked_at < parked_before)
            .values(status="expired", resolved_at=now, detail="the customer never became known")
            .returning(ParkedDelivery)
        )
    ).all()


async def resolve(
    session: AsyncSession, event_id: str, *, status: str, now: datetime, detail: str | None
) -> None:
    await session.execute(
        update(ParkedDelivery)
        .where(ParkedDelivery.event_id == event_id)
        .values(status=status, resolved_at=now, detail=detail[:200] if detail else None)
    )


async def listing(
    session: AsyncSession, *, status: str | None, after: list[Any] | None, limit: int
) -> tuple[list[ParkedDelivery], list[Any] | None]:
    """Parked deliveries, newest first (keyset: parked_at, event_id)."""
    query = select(ParkedDelivery)
    if status:
        query = query.where(ParkedDelivery.status == status)
    return await keyset_page(
        session, query, keys=(ParkedDelivery.parked_at, ParkedDelivery.event_id), after=after, limit=limit
    )


async def purge_resolved(session: AsyncSession, *, before: datetime) -> int:
    """Forget deliveries released, failed or expired before ``before`` (they hold customer data)."""
    result = await session.execute(
        delete(ParkedDelivery).where(ParkedDelivery.status != "parked", ParkedDelivery.resolved_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def first_email_request(session: AsyncSession, request_id: uuid.UUID) -> bool:
    """Record ``request_id``; False when it was already recorded."""
    inserted = await session.scalar(
        insert(CrmEmailRequest)
        .values(request_id=request_id)
        .on_conflict_do_nothing(index_elements=[CrmEmailRequest.request_id])
        .returning(CrmEmailRequest.request_id)
    )
    return inserted is not None
