"""Task endpoints: create, list, mine, due today, overdue, edit, assign, complete, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.runtime import RuntimeDep
from core_crm.customers.access import Viewer, staff
from core_crm.tasks import service
from core_crm.tasks.models import TaskPriority, TaskStatus
from core_crm.tasks.schemas import AssignTask, CancelTask, TaskCreate, TaskOut, TaskUpdate

router = APIRouter(prefix="/tasks", tags=["tasks"])

Reader = Annotated[Viewer, Depends(staff(Permission.tasks_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.tasks_write))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission (tasks are for staff)"))
NOT_FOUND = (404, "No such task", "No such task.")
CLOSED = (409, "The task is completed or cancelled")
DueLimit = Annotated[int, Query(ge=1, le=500)]


@router.get(
    "",
    response_model=CursorPage[TaskOut],
    summary="List tasks",
    description="Needs `tasks:read`. Filters combine; newest first; cursor pagination.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def list_tasks(
    _: Reader,
    db: ReadSession,
    status_: Annotated[list[TaskStatus] | None, Query(alias="status")] = None,
    assigned_to: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    priority: TaskPriority | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[TaskOut]:
    rows, next_key = await service.search_tasks(
        db,
        statuses=[s.value for s in status_] if status_ else None,
        assigned_to=assigned_to,
        customer_id=customer_id,
        priority=priority.value if priority else None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[TaskOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskOut,
    summary="Create a task",
    description="Needs `tasks:write`. Referenced records must exist and belong to the customer. "
    "Publishes `task.created`.",
    responses=responses(*GUARDED, (422, "Invalid field or reference")),
)
async def create_task(body: TaskCreate, who: Writer, db: DbSession, rt: RuntimeDep) -> TaskOut:
    return TaskOut.model_validate(await service.create_from_request(db, rt=rt, viewer=who, data=body))


@router.get(
    "/mine",
    response_model=CursorPage[TaskOut],
    summary="My open tasks",
    description="Open tasks (pending, in progress) assigned to the caller, newest first.",
    responses=responses(*GUARDED, (422, "Invalid cursor")),
)
async def my_tasks(
    who: Reader, db: ReadSession, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[TaskOut]:
    rows, next_key = await service.search_tasks(
        db,
        statuses=["pending", "in_progress"],
        assigned_to=who.actor_id,
        customer_id=None,
        priority=None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[TaskOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.get(
    "/due-today",
    response_model=list[TaskOut],
    summary="Open tasks due today",
    description="Today in Spanish time (Europe/Madrid). `mine=true` keeps the caller's.",
    responses=responses(*GUARDED),
)
async def due_today(who: Reader, db: ReadSession, mine: bool = False, limit: DueLimit = 200) -> list[TaskOut]:
    rows = await service.due_today(db, assigned_to=who.actor_id if mine else None, limit=limit)
    return [TaskOut.model_validate(r) for r in rows]


@router.get(
    "/overdue",
    response_model=list[TaskOut],
    summary="Open tasks past their due time",
    description="Oldest first. `mine=true` keeps the caller's.",
    responses=responses(*GUARDED),
)
async def overdue(who: Reader, db: ReadSession, mine: bool = False, limit: DueLimit = 200) -> list[TaskOut]:
    rows = await service.overdue(db, assigned_to=who.actor_id if mine else None, limit=limit)
    return [TaskOut.model_validate(r) for r in rows]


@router.get(
    "/{task_id}", response_model=TaskOut, summary="Get a task", responses=responses(*GUARDED, NOT_FOUND)
)
async def get_task(task_id: uuid.UUID, _: Reader, db: ReadSession) -> TaskOut:
    return TaskOut.model_validate(await service.get_task(db, task_id=task_id))


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    summary="Edit an open task",
    responses=responses(*GUARDED, NOT_FOUND, CLOSED),
)
async def update_task(task_id: uuid.UUID, body: TaskUpdate, _: Writer, db: DbSession) -> TaskOut:
    return TaskOut.model_validate(await service.update_task(db, task_id=task_id, changes=body.changes()))


@router.post(
    "/{task_id}/assign",
    response_model=TaskOut,
    summary="Assign an open task",
    responses=responses(*GUARDED, NOT_FOUND, CLOSED),
)
async def assign_task(task_id: uuid.UUID, body: AssignTask, _: Writer, db: DbSession) -> TaskOut:
    return TaskOut.model_validate(
        await service.assign_task(db, task_id=task_id, assigned_to=body.assigned_to)
    )


@router.post(
    "/{task_id}/complete",
    response_model=TaskOut,
    summary="Complete a task",
    description="Publishes `task.completed`.",
    responses=responses(*GUARDED, NOT_FOUND, CLOSED),
)
async def complete_task(task_id: uuid.UUID, who: Writer, db: DbSession, rt: RuntimeDep) -> TaskOut:
    return TaskOut.model_validate(await service.complete_task(db, rt=rt, viewer=who, task_id=task_id))


@router.post(
    "/{task_id}/cancel",
    response_model=TaskOut,
    summary="Cancel a task",
    responses=responses(*GUARDED, NOT_FOUND, CLOSED),
)
async def cancel_task(
    task_id: uuid.UUID, _: Writer, db: DbSession, body: CancelTask | None = None
) -> TaskOut:
    return TaskOut.model_validate(
        await service.cancel_task(db, task_id=task_id, reason=body.reason if body else None)
    )
