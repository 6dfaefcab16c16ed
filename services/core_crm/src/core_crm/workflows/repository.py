"""Queries on workflow definitions, versions, executions and step runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.workflows.models import (
    CLAIMABLE_STATUSES,
    Workflow,
    WorkflowExecution,
    WorkflowStepRun,
    WorkflowVersion,
)


async def get(session: AsyncSession, workflow_id: uuid.UUID, *, for_update: bool = False) -> Workflow | None:
    query = select(Workflow).where(Workflow.id == workflow_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def version(session: AsyncSession, workflow_id: uuid.UUID, number: int) -> WorkflowVersion | None:
    return await session.get(WorkflowVersion, (workflow_id, number))


async def versions(session: AsyncSession, workflow_id: uuid.UUID) -> Sequence[WorkflowVersion]:
    rows = await session.scalars(
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version)
    )
    return rows.all()


async def search(
    session: AsyncSession,
    *,
    active: bool | None,
    trigger_type: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Workflow], list[Any] | None]:
    conditions: list[ColumnElement[bool]] = []
    if active is not None:
        conditions.append(Workflow.active.is_(active))
    if trigger_type:
        conditions.append(Workflow.trigger_type == trigger_type)
    return await newest_first(
        session,
        Workflow,
        at=Workflow.created_at,
        id_=Workflow.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )


async def listening_to(session: AsyncSession, event_type: str) -> Sequence[Workflow]:
    rows = await session.scalars(
        select(Workflow).where(
            Workflow.active.is_(True), Workflow.trigger_type == "event", Workflow.event_type == event_type
        )
    )
    return rows.all()


async def schedules_due(session: AsyncSession, *, limit: int) -> Sequence[Workflow]:
    rows = await session.scalars(
        select(Workflow)
        .where(
            Workflow.active.is_(True),
            Workflow.trigger_type == "schedule",
            Workflow.next_fire_at <= func.clock_timestamp(),
        )
        .order_by(Workflow.next_fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return rows.all()


async def execution(
    session: AsyncSession, execution_id: uuid.UUID, *, for_update: bool = False
) -> WorkflowExecution | None:
    query = select(WorkflowExecution).where(WorkflowExecution.id == execution_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def execution_by_trigger(
    session: AsyncSession, workflow_id: uuid.UUID, key: str
) -> WorkflowExecution | None:
    return (
        await session.scalars(
            select(WorkflowExecution).where(
                WorkflowExecution.workflow_id == workflow_id, WorkflowExecution.trigger_key == key
            )
        )
    ).first()


# The worker's ``crm.workflows.advance`` job listens here: a commit that queues or retries an
# execution wakes it at once (its period is only the safety poll).
WAKE_CHANNEL = "crm_workflows"


async def wake_worker(session: AsyncSession) -> None:
    """Wake the worker's pass when this transaction commits (a NOTIFY is delivered at commit)."""
    await session.execute(select(func.pg_notify(WAKE_CHANNEL, "")))


async def seconds_until_due(session: AsyncSession) -> float | None:
    """Seconds until the earliest claimable execution is due (0: now; None: none waiting): the
    worker's pass is next due then (a wait step, a retry's backoff, a webhook call's lease)."""
    seconds = await session.scalar(
        select(func.extract("epoch", func.min(WorkflowExecution.next_run_at) - func.clock_timestamp())).where(
            WorkflowExecution.status.in_(CLAIMABLE_STATUSES)
        )
    )
    return None if seconds is None else max(0.0, float(seconds))


async def claim_due(session: AsyncSession, *, limit: int) -> Sequence[WorkflowExecution]:
    """Executions whose next step is due, locked so no other worker runs them (skip the locked ones);
    a ``running`` one is due when its webhook call's lease ran out or one pass did not finish it."""
    rows = await session.scalars(
        select(WorkflowExecution)
        .where(
            WorkflowExecution.status.in_(CLAIMABLE_STATUSES),
            WorkflowExecution.next_run_at <= func.clock_timestamp(),
        )
        .order_by(WorkflowExecution.next_run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return rows.all()


async def executions(
    session: AsyncSession, *, workflow_id: uuid.UUID, status: str | None, after: list[Any] | None, limit: int
) -> tuple[Sequence[WorkflowExecution], list[Any] | None]:
    conditions: list[ColumnElement[bool]] = [WorkflowExecution.workflow_id == workflow_id]
    if status:
        conditions.append(WorkflowExecution.status == status)
    return await newest_first(
        session,
        WorkflowExecution,
        at=WorkflowExecution.started_at,
        id_=WorkflowExecution.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )


async def step_runs(session: AsyncSession, execution_id: uuid.UUID) -> Sequence[WorkflowStepRun]:
    rows = await session.scalars(
        select(WorkflowStepRun)
        .where(WorkflowStepRun.execution_id == execution_id)
        .order_by(WorkflowStepRun.step_index, WorkflowStepRun.attempt)
    )
    return rows.all()


async def open_step_run(
    session: AsyncSession, execution_id: uuid.UUID, step_index: int, *, status: str
) -> WorkflowStepRun | None:
    """The step's attempt still in ``status`` (``waiting`` for a timer, ``running`` for a call)."""
    return (
        await session.scalars(
            select(WorkflowStepRun).where(
                WorkflowStepRun.execution_id == execution_id,
                WorkflowStepRun.step_index == step_index,
                WorkflowStepRun.status == status,
            )
        )
    ).first()


async def step_run(session: AsyncSession, run_id: uuid.UUID) -> WorkflowStepRun | None:
    return (await session.scalars(select(WorkflowStepRun).where(WorkflowStepRun.id == run_id))).first()
