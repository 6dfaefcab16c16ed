"""The queries of the change history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.core.base import utcnow
from core_crm.trail.models import ChangeRecord


async def page(
    session: AsyncSession, *, entity: str, entity_id: uuid.UUID, after: list[Any] | None, limit: int
) -> tuple[list[ChangeRecord], list[Any] | None]:
    """One page of a record's changes, newest first."""
    return await newest_first(
        session,
        ChangeRecord,
        at=ChangeRecord.changed_at,
        id_=ChangeRecord.id,
        conditions=[ChangeRecord.entity == entity, ChangeRecord.entity_id == entity_id],
        after=after,
        limit=limit,
    )


async def of_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[ChangeRecord]:
    """Every change of the customer's record and of the records that belong to them, newest first."""
    query = (
        select(ChangeRecord)
        .where(
            or_(
                ChangeRecord.customer_id == customer_id,
                (ChangeRecord.entity == "customer") & (ChangeRecord.entity_id == customer_id),
            )
        )
        .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc())
    )
    return (await session.scalars(query)).all()


async def rewrite(session: AsyncSession, record_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Replace one row's changes (redaction), marking it redacted."""
    await session.execute(
        update(ChangeRecord).where(ChangeRecord.id == record_id).values(changes=changes, redacted_at=utcnow())
    )
