"""Queries on the claims' fraud scores and the supervisors' investigation load."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import TaskStatus
from core_crm.accounts.models import Account
from core_crm.fraud.models import ClaimFraudScore
from core_crm.tasks.models import Task


async def get(session: AsyncSession, claim_id: uuid.UUID) -> ClaimFraudScore | None:
    return await session.get(ClaimFraudScore, claim_id)


async def upsert_newer(session: AsyncSession, values: dict[str, Any]) -> None:
    """Keep the score unless an older one arrives late (``scored_at`` decides, not arrival)."""
    changes = {k: v for k, v in values.items() if k != "claim_id"}
    statement = insert(ClaimFraudScore).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[ClaimFraudScore.claim_id],
        set_={**changes, "updated_at": func.now()},
        where=ClaimFraudScore.scored_at <= statement.excluded.scored_at,
    )
    await session.execute(statement)


async def mark_alerted(session: AsyncSession, claim_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(ClaimFraudScore).where(ClaimFraudScore.claim_id == claim_id).values(alerted_at=at)
    )


async def active_supervisors(session: AsyncSession) -> Sequence[uuid.UUID]:
    rows = await session.scalars(
        select(Account.user_id).where(Account.role == "supervisor", Account.active.is_(True))
    )
    return rows.all()


async def open_tasks_per_assignee(
    session: AsyncSession, assignees: Sequence[uuid.UUID], *, task_type: str
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Task.assigned_to, func.count())
        .where(
            Task.assigned_to.in_(assignees),
            Task.task_type == task_type,
            Task.status.in_([TaskStatus.pending.value, TaskStatus.in_progress.value]),
        )
        .group_by(Task.assigned_to)
    )
    return {assignee: count for assignee, count in rows.all() if assignee is not None}
