"""Workflow definitions (versioned), starting executions (manual, event, schedule), and the jobs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from croniter import croniter
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_shared.errors import Conflict, NotFound
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.core.transactions import Transactions
from core_crm.customers.access import Viewer
from core_crm.workflows import conditions, engine, repository
from core_crm.workflows.models import (
    DUE_STATUSES,
    ExecutionStatus,
    TriggerType,
    Workflow,
    WorkflowExecution,
    WorkflowStepRun,
    WorkflowVersion,
)
from core_crm.workflows.schemas import Definition, WorkflowCreate

log = structlog.get_logger("crm.workflows")


def next_fire(cron: str, timezone: str, after: datetime | None = None) -> datetime:
    """The next time a cron expression fires, in UTC."""
    zone = ZoneInfo(timezone)
    base = (after or utcnow()).astimezone(zone)
    fire: datetime = croniter(cron, base).get_next(datetime)
    return fire.astimezone(ZoneInfo("UTC"))


def _apply_trigger(workflow: Workflow, definition: Definition) -> dict[str, Any]:
    trigger = definition.trigger.model_dump(mode="json")
    workflow.trigger_type = definition.trigger.type
    workflow.event_type = trigger.get("event_type")
    workflow.next_fire_at = (
        next_fire(trigger["cron"], trigger["timezone"])
        if definition.trigger.type == TriggerType.schedule
        else None
    )
    return trigger


async def create_workflow(session: AsyncSession, *, viewer: Viewer, data: WorkflowCreate) -> Workflow:
    """Create a workflow at version 1."""
    workflow = Workflow(
        name=data.name,
        description=data.description,
        active=data.active,
        current_version=1,
        created_by=viewer.actor_id,
    )
    trigger = _apply_trigger(workflow, data)
    await repository.add(session, workflow)
    await repository.add(
        session,
        WorkflowVersion(
            workflow_id=workflow.id,
            version=1,
            trigger_type=data.trigger.type,
            trigger_config=trigger,
            steps=[s.model_dump(mode="json") for s in data.steps],
            created_by=viewer.actor_id,
        ),
    )
    return workflow


async def get_workflow(
    session: AsyncSession, *, workflow_id: uuid.UUID, for_update: bool = False
) -> Workflow:
    """One workflow (404 when unknown)."""
    workflow = await repository.get(session, workflow_id, for_update=for_update)
    if workflow is None:
        raise NotFound("No such workflow.")
    return workflow


async def current_definition(session: AsyncSession, *, workflow: Workflow) -> WorkflowVersion | None:
    """The version new executions run."""
    return await repository.version(session, workflow.id, workflow.current_version)


async def new_version(
    session: AsyncSession, *, viewer: Viewer, workflow_id: uuid.UUID, data: Definition
) -> Workflow:
    """Replace the definition with a new version; running executions keep theirs."""
    workflow = await get_workflow(session, workflow_id=workflow_id, for_update=True)
    workflow.current_version += 1
    trigger = _apply_trigger(workflow, data)
    workflow.updated_at = utcnow()
    await repository.add(
        session,
        WorkflowVersion(
            workflow_id=workflow.id,
            version=workflow.current_version,
            trigger_type=data.trigger.type,
            trigger_config=trigger,
            steps=[s.model_dump(mode="json") for s in data.steps],
            created_by=viewer.actor_id,
        ),
    )
    return workflow


async def update_workflow(
    session: AsyncSession, *, workflow_id: uuid.UUID, changes: dict[str, Any]
) -> Workflow:
    """Rename, describe, switch on or off."""
    workflow = await get_workflow(session, workflow_id=workflow_id, for_update=True)
    for key, value in changes.items():
        if key in ("name", "active") and value is None:
            continue
        setattr(workflow, key, value)
    if changes.get("active") and workflow.trigger_type == TriggerType.schedule:
        version = await current_definition(session, workflow=workflow)
        if version is not None:
            workflow.next_fire_at = next_fire(
                version.trigger_config["cron"], version.trigger_config["timezone"]
            )
    workflow.updated_at = utcnow()
    await repository.flush(session)
    return workflow


async def list_versions(session: AsyncSession, *, workflow_id: uuid.UUID) -> Sequence[WorkflowVersion]:
    """Every version of a workflow."""
    await get_workflow(session, workflow_id=workflow_id)
    return await repository.versions(session, workflow_id)


async def search_workflows(
    session: AsyncSession,
    *,
    active: bool | None,
    trigger_type: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Workflow], list[Any] | None]:
    """One page of workflows, newest first."""
    return await repository.search(
        session, active=active, trigger_type=trigger_type, after=after, limit=limit
    )


async def start(
    session: AsyncSession,
    *,
    workflow: Workflow,
    trigger: TriggerType,
    data: dict[str, Any],
    trigger_key: str | None,
    triggered_by: uuid.UUID | None = None,
) -> WorkflowExecution | None:
    """Queue an execution of the workflow's current version (once per trigger key)."""
    if trigger_key is not None and await repository.execution_by_trigger(session, workflow.id, trigger_key):
        return None
    version = await current_definition(session, workflow=workflow)
    if version is None:
        return None
    execution = WorkflowExecution(
        workflow_id=workflow.id,
        version=version.version,
        status=ExecutionStatus.pending.value,
        trigger_type=trigger.value,
        trigger_key=trigger_key,
        trigger_data=data,
        steps_total=len(version.steps),
        next_run_at=utcnow(),
        triggered_by=triggered_by,
    )
    workflow.execution_count += 1
    workflow.last_executed_at = utcnow()
    await repository.add(session, execution)
    await repository.wake_worker(session)
    return execution


async def execute_manually(
    session: AsyncSession, *, viewer: Viewer, workflow_id: uuid.UUID, data: dict[str, Any]
) -> WorkflowExecution:
    """Start a run now with the given data (any active workflow); the worker runs it."""
    workflow = await get_workflow(session, workflow_id=workflow_id, for_update=True)
    if not workflow.active:
        raise Conflict("This workflow is switched off.")
    execution = await start(
        session,
        workflow=workflow,
        trigger=TriggerType.manual,
        data=data,
        trigger_key=None,
        triggered_by=viewer.actor_id,
    )
    assert execution is not None
    return execution


async def on_event(session: AsyncSession, *, event: CloudEvent) -> int:
    """Start the active workflows listening to this event type whose conditions hold; returns how many.

    Events caused by a workflow's own steps never trigger workflows, so workflows cannot loop.
    """
    if (event.correlationid or "").startswith(engine.WORKFLOW_CORRELATION_PREFIX):
        return 0
    started = 0
    for workflow in await repository.listening_to(session, event.type):
        version = await current_definition(session, workflow=workflow)
        if version is None or not conditions.all_hold(
            version.trigger_config.get("conditions", []), event.data
        ):
            continue
        data = {**event.data, "event": {"id": event.id, "type": event.type, "subject": event.subject}}
        if await start(
            session, workflow=workflow, trigger=TriggerType.event, data=data, trigger_key=f"event:{event.id}"
        ):
            started += 1
    return started


async def fire_schedules(session: AsyncSession, *, limit: int = 100) -> int:
    """Start every scheduled workflow whose time has come (one run per slot), and set its next time."""
    fired = 0
    for workflow in await repository.schedules_due(session, limit=limit):
        version = await current_definition(session, workflow=workflow)
        slot = workflow.next_fire_at
        if version is None or slot is None:
            continue
        config = version.trigger_config
        if await start(
            session,
            workflow=workflow,
            trigger=TriggerType.schedule,
            data={"scheduled_for": slot.isoformat()},
            trigger_key=f"schedule:{slot.isoformat()}",
        ):
            fired += 1
        workflow.next_fire_at = next_fire(config["cron"], config["timezone"], after=max(slot, utcnow()))
    await repository.flush(session)
    return fired


async def advance_due(db: Transactions, *, rt: Runtime) -> int:
    """Run every due execution as far as it goes now (the worker's job); returns how many ran.

    One transaction claims the due executions and runs their steps up to any webhook call (claimed,
    not made) and commits; then every call is made at the same time with no transaction open, and
    each outcome is recorded (and its execution continued) in its own transaction as soon as that
    call answers, so a slow target delays no other execution.
    """
    async with db.transaction() as session:
        due = await repository.claim_due(session, limit=rt.settings.workflow_batch_size)
        calls = [
            call
            for execution in due
            if (call := await engine.run_execution(session, rt=rt, execution=execution))
        ]
    failures = [
        r for r in await asyncio.gather(*(_follow(db, rt, c) for c in calls), return_exceptions=True) if r
    ]
    if failures:  # the lease brings these executions back; the job records the error
        raise failures[0]
    return len(due)


async def _follow(db: Transactions, rt: Runtime, call: engine.WebhookCall | None) -> None:
    """Make a claimed call, record its outcome, and so on while the execution stops at calls."""
    while call is not None:
        outcome = await engine.call_webhook(rt, call)
        async with db.transaction() as session:
            call = await engine.record_call(session, rt=rt, call=call, outcome=outcome)


async def get_execution(
    session: AsyncSession, *, execution_id: uuid.UUID
) -> tuple[WorkflowExecution, Sequence[WorkflowStepRun]]:
    """An execution and every attempt of every step."""
    execution = await repository.execution(session, execution_id)
    if execution is None:
        raise NotFound("No such execution.")
    return execution, await repository.step_runs(session, execution.id)


async def list_executions(
    session: AsyncSession, *, workflow_id: uuid.UUID, status: str | None, after: list[Any] | None, limit: int
) -> tuple[Sequence[WorkflowExecution], list[Any] | None]:
    """A workflow's executions, newest first."""
    await get_workflow(session, workflow_id=workflow_id)
    return await repository.executions(
        session, workflow_id=workflow_id, status=status, after=after, limit=limit
    )


async def retry_execution(session: AsyncSession, *, execution_id: uuid.UUID) -> WorkflowExecution:
    """Run a failed execution again from the step that failed (fresh attempts)."""
    execution = await repository.execution(session, execution_id, for_update=True)
    if execution is None:
        raise NotFound("No such execution.")
    if execution.status != ExecutionStatus.failed:
        raise Conflict(f"Only a failed execution can be retried; this one is {execution.status}.")
    execution.status = ExecutionStatus.pending.value
    execution.attempt = 0
    execution.error_message = None
    execution.completed_at = None
    execution.next_run_at = utcnow()
    execution.updated_at = utcnow()
    await repository.flush(session)
    await repository.wake_worker(session)
    return execution


async def cancel_execution(session: AsyncSession, *, execution_id: uuid.UUID) -> WorkflowExecution:
    """Stop an execution that has not finished."""
    execution = await repository.execution(session, execution_id, for_update=True)
    if execution is None:
        raise NotFound("No such execution.")
    if execution.status not in DUE_STATUSES:
        raise Conflict(f"An execution that is {execution.status} cannot be cancelled.")
    execution.status = ExecutionStatus.cancelled.value
    execution.next_run_at = None
    execution.completed_at = utcnow()
    execution.updated_at = utcnow()
    await repository.flush(session)
    return execution
