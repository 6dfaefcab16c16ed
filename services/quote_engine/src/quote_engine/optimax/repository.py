"""Queries on the policies read model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from quote_engine.optimax.models import CustomerPolicy


async def upsert(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(CustomerPolicy).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[CustomerPolicy.policy_id],
        set_={k: statement.excluded[k] for k in values if k != "policy_id"},
    )
    await session.execute(statement)


async def set_status(session: AsyncSession, policy_id: uuid.UUID, status: str) -> None:
    await session.execute(
        update(CustomerPolicy).where(CustomerPolicy.policy_id == policy_id).values(status=status)
    )


async def of_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[CustomerPolicy]:
    query = (
        select(CustomerPolicy)
        .where(CustomerPolicy.customer_id == customer_id)
        .order_by(CustomerPolicy.policy_number)
    )
    return (await session.scalars(query)).all()
