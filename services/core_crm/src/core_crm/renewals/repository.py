"""Queries on renewal confirmations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.renewals.models import RenewalConfirmation


async def by_reminder(session: AsyncSession, reminder_message_id: uuid.UUID) -> RenewalConfirmation | None:
    return (
        await session.scalars(
            select(RenewalConfirmation).where(RenewalConfirmation.reminder_message_id == reminder_message_id)
        )
    ).first()


async def add(session: AsyncSession, row: RenewalConfirmation) -> None:
    session.add(row)
    await session.flush()


async def for_policy(session: AsyncSession, policy_id: uuid.UUID) -> Sequence[RenewalConfirmation]:
    rows = await session.scalars(
        select(RenewalConfirmation)
        .where(RenewalConfirmation.policy_id == policy_id)
        .order_by(RenewalConfirmation.confirmed_at)
    )
    return rows.all()
