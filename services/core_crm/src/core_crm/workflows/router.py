"""Workflow endpoints: definitions (versioned), manual runs, executions step by step, retry, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.customers.access import Viewer, staff
from core_crm.workflows import service
from core_crm.workflows.models import ExecutionStatus, TriggerType, Workflow
from core_crm.workflows.schemas import (
    Definition,
    ExecuteRequest,
    ExecutionOut,
    StepRunOut,
    VersionOut,
    WorkflowCreate,
    WorkflowOut,
    WorkflowUpdate,
)

router = APIRouter(prefix="/workflows", tags=["workflows"])

Reader = Annotated[Viewer, Depends(staff(Permission.workflows_read))]
Manager = Annotated[Viewer, Depends(staff(Permission.workflows_manage))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such workflow", "No such workflow.")


async def _out(db: DbSession, workflow: Workflow) -> WorkflowOut:
    out = WorkflowOut.model_validate(workflow)
    version = await service.current_definition(db, workflow=workflow)
    out.definition = VersionOut.model_validate(version) if version else None
    return out


@router.get(
    "",
    response_model=CursorPage[WorkflowOut],
    summary="List workflows",
    description="Needs `workflows:read`. Newest first; cursor pagination.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def list_workflows(
    _: Reader,
    db: DbSession,
    active: bool | None = None,
    trigger_type: TriggerType | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[WorkflowOut]:
    rows, next_key = await service.search_workflows(
        db,
        active=active,
        trigger_type=trigger_type.value if trigger_type else None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[WorkflowOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkflowOut,
    summary="Create a workflow",
    description="Needs `workflows:manage`. Trigger: `manual`, `event` (any catalogue event type with "
    "conditions over its data: `[{path, op, value}]`, ops eq, ne, gt, gte, lt, lte, in, contains, "
    "exists) or `schedule` (five-field cron in a time zone). Steps: `send_email`, `create_task`, "
    "`update_record`, `call_webhook`, `wait_duration`, `condition_check`; text fields take `${path}` "
    "placeholders from the run's data. Each step retries with exponential backoff (`retry`). "
    "See docs/crm.md for the step reference.",
    responses=responses(*GUARDED, (422, "Invalid trigger, step, condition or cron")),
)
async def create_workflow(body: WorkflowCreate, who: Manager, db: DbSession) -> WorkflowOut:
    return await _out(db, await service.create_workflow(db, viewer=who, data=body))


@router.get(
    "/{workflow_id}",
    response_model=WorkflowOut,
    summary="Get a workflow and its current definition",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def get_workflow(workflow_id: uuid.UUID, _: Reader, db: DbSession) -> WorkflowOut:
    return await _out(db, await service.get_workflow(db, workflow_id=workflow_id))


@router.patch(
    "/{workflow_id}",
    response_model=WorkflowOut,
    summary="Rename, describe, switch on or off",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def update_workflow(
    workflow_id: uuid.UUID, body: WorkflowUpdate, _: Manager, db: DbSession
) -> WorkflowOut:
    changes = body.model_dump(exclude_unset=True)
    return await _out(db, await service.update_workflow(db, workflow_id=workflow_id, changes=changes))


@router.put(
    "/{workflow_id}/definition",
    response_model=WorkflowOut,
    summary="Publish a new version of the definition",
    description="New executions run the new version; running ones finish on the version they started with.",
    responses=responses(*GUARDED, NOT_FOUND, (422, "Invalid definition")),
)
async def new_version(workflow_id: uuid.UUID, body: Definition, who: Manager, db: DbSession) -> WorkflowOut:
    return await _out(db, await service.new_version(db, viewer=who, workflow_id=workflow_id, data=body))


@router.get(
    "/{workflow_id}/versions",
    response_model=list[VersionOut],
    summary="Every version of the definition",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def versions(workflow_id: uuid.UUID, _: Reader, db: DbSession) -> list[VersionOut]:
    return [VersionOut.model_validate(v) for v in await service.list_versions(db, workflow_id=workflow_id)]


@router.post(
    "/{workflow_id}/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    summary="Run a workflow now",
    description="Needs `workflows:manage`. Queues a run of the current version with `data` as its "
    "trigger data; the worker runs it within seconds. Follow it at `/workflows/executions/{id}`.",
    responses=responses(*GUARDED, NOT_FOUND, (409, "The workflow is switched off")),
)
async def execute(
    workflow_id: uuid.UUID, who: Manager, db: DbSession, body: ExecuteRequest | None = None
) -> ExecutionOut:
    execution = await service.execute_manually(
        db, viewer=who, workflow_id=workflow_id, data=body.data if body else {}
    )
    return ExecutionOut.model_validate(execution)


@router.get(
    "/{workflow_id}/executions",
    response_model=CursorPage[ExecutionOut],
    summary="A workflow's executions",
    responses=responses(*GUARDED, NOT_FOUND, (422, "Invalid cursor")),
)
async def executions(
    workflow_id: uuid.UUID,
    _: Reader,
    db: DbSession,
    status_: Annotated[ExecutionStatus | None, Query(alias="status")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ExecutionOut]:
    rows, next_key = await service.list_executions(
        db,
        workflow_id=workflow_id,
        status=status_.value if status_ else None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[ExecutionOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.get(
    "/executions/{execution_id}",
    response_model=ExecutionOut,
    summary="An execution, step by step",
    description="Every attempt of every step with its output or error, the resume time of a wait, and "
    "the retry schedule.",
    responses=responses(*GUARDED, (404, "No such execution")),
)
async def get_execution(execution_id: uuid.UUID, _: Reader, db: DbSession) -> ExecutionOut:
    execution, runs = await service.get_execution(db, execution_id=execution_id)
    out = ExecutionOut.model_validate(execution)
    out.steps = [StepRunOut.model_validate(r) for r in runs]
    return out


@router.post(
    "/executions/{execution_id}/retry",
    response_model=ExecutionOut,
    summary="Retry a failed execution from the failed step",
    responses=responses(*GUARDED, (404, "No such execution"), (409, "Not failed")),
)
async def retry(execution_id: uuid.UUID, _: Manager, db: DbSession) -> ExecutionOut:
    return ExecutionOut.model_validate(await service.retry_execution(db, execution_id=execution_id))


@router.post(
    "/executions/{execution_id}/cancel",
    response_model=ExecutionOut,
    summary="Cancel an unfinished execution",
    responses=responses(*GUARDED, (404, "No such execution"), (409, "Already finished")),
)
async def cancel(execution_id: uuid.UUID, _: Manager, db: DbSession) -> ExecutionOut:
    return ExecutionOut.model_validate(await service.cancel_execution(db, execution_id=execution_id))
