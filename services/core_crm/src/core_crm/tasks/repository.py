"""Queries on tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.tasks.models import OPEN_TASK_STATUSES, Task


async def get(session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
    query = select(Task).where(Task.id == task_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def by_dedupe_key(session: AsyncSession, key: str) -> Task | None:
    return (await session.scalars(select(Task).where(Task.dedupe_key == key))).first()


async def open_for_policy(
    session: AsyncSession, *, policy_id: uuid.UUID, task_types: Sequence[str]
) -> Sequence[Task]:
    rows = await session.scalars(
        select(Task)
        .where(
            Task.policy_id == policy_id,
            Task.task_type.in_(task_types),
            Task.status.in_(OPEN_TASK_STATUSES),
        )
        .order_by(Task.created_at)
        .with_for_update()
    )
    return rows.all()


async def add(session: AsyncSession, task: Task) -> None:
    session.add(task)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def search(
    session: AsyncSession,
    *,
    statuses: Sequence[str] | None,
    assigned_to: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    priority: str | None,
    due_from: datetime | None,
    due_before: datetime | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Task], list[Any] | None]:
    """Newest first."""
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(Task.status.in_(statuses))
    if assigned_to is not None:
        conditions.append(Task.assigned_to == assigned_to)
    if customer_id is not None:
        conditions.append(Task.customer_id == customer_id)
    if priority:
        conditions.append(Task.priority == priority)
    if due_from is not None:
        conditions.append(Task.due_date >= due_from)
    if due_before is not None:
        conditions.append(Task.due_date < due_before)
    return await newest_first(
        session, Task, at=Task.created_at, id_=Task.id, conditions=conditions, after=after, limit=limit
    )


async def due(
    session: AsyncSession, *, start: datetime | None, end: datetime, assigned_to: uuid.UUID | None, limit: int
) -> Sequence[Task]:
    """Open tasks due in [start, end), soonest first."""
    conditions: list[ColumnElement[bool]] = [Task.status.in_(OPEN_TASK_STATUSES), Task.due_date < end]
    if start is not None:
        conditions.append(Task.due_date >= start)
    if assigned_to is not None:
        conditions.append(Task.assigned_to == assigned_to)
    rows = await session.scalars(
        select(Task).where(*conditions).order_by(Task.due_date, Task.id).limit(limit)
    )
    return rows.all()


async def for_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Task]:
    rows = await session.scalars(
        select(Task).where(Task.customer_id == customer_id).order_by(Task.created_at)
    )
    return rows.all()
