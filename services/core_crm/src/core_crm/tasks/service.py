"""Task rules: open (pending, in progress) until completed or cancelled; automations dedupe."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import TaskCompleted, TaskCreated
from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.interactions import service as interactions
from core_crm.tasks import repository
from core_crm.tasks.models import OPEN_TASK_STATUSES, Task, TaskStatus

# "Today" for a Spanish broker's agents.
LOCAL_TZ = ZoneInfo("Europe/Madrid")


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def _created(task: Task) -> TaskCreated:
    return TaskCreated(
        task_id=task.id,
        title=task.title,
        task_type=task.task_type,
        priority=task.priority,
        assigned_to=task.assigned_to,
        customer_id=task.customer_id,
        policy_id=task.policy_id,
        claim_id=task.claim_id,
        due_date=task.due_date,
        created_by=task.created_by,
    )


async def create_task(
    session: AsyncSession,
    *,
    rt: Runtime,
    title: str,
    created_by: uuid.UUID | None,
    description: str | None = None,
    task_type: str | None = None,
    priority: str = "medium",
    assigned_to: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    policy_id: uuid.UUID | None = None,
    claim_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
    due_date: datetime | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Task:
    """Create a task (an automation passes ``dedupe_key``: the same cause yields the same task)."""
    if dedupe_key is not None:
        existing = await repository.by_dedupe_key(session, dedupe_key)
        if existing is not None:
            return existing
    task = Task(
        title=title,
        description=description,
        task_type=task_type,
        priority=priority,
        assigned_to=assigned_to,
        created_by=created_by,
        customer_id=customer_id,
        policy_id=policy_id,
        claim_id=claim_id,
        quote_id=quote_id,
        due_date=due_date,
        tags=tags or [],
        attributes=metadata or {},
        dedupe_key=dedupe_key,
        status=TaskStatus.pending.value,
    )
    await repository.add(session, task)
    await rt.outbox.publish(session, _created(task), key=str(task.id))
    return task


async def create_from_request(session: AsyncSession, *, rt: Runtime, viewer: Viewer, data: Any) -> Task:
    """An agent creates a task; referenced records must exist and agree on the customer."""
    if data.customer_id is not None:
        await customers.referenced_customer(session, viewer=viewer, customer_id=data.customer_id)
    await interactions.check_references(
        session,
        customer_id=data.customer_id,
        policy_id=data.policy_id,
        claim_id=data.claim_id,
        quote_id=data.quote_id,
    )
    return await create_task(
        session,
        rt=rt,
        title=data.title,
        created_by=viewer.actor_id,
        description=data.description,
        task_type=data.task_type,
        priority=data.priority.value,
        assigned_to=data.assigned_to,
        customer_id=data.customer_id,
        policy_id=data.policy_id,
        claim_id=data.claim_id,
        quote_id=data.quote_id,
        due_date=data.due_date,
        tags=data.tags,
        metadata=data.metadata,
    )


async def get_task(session: AsyncSession, *, task_id: uuid.UUID, for_update: bool = False) -> Task:
    """One task (404 when unknown)."""
    task = await repository.get(session, task_id, for_update=for_update)
    if task is None:
        raise NotFound("No such task.")
    return task


async def _open(session: AsyncSession, task_id: uuid.UUID) -> Task:
    task = await get_task(session, task_id=task_id, for_update=True)
    if task.status not in OPEN_TASK_STATUSES:
        raise Conflict(f"A task that is {task.status} is closed.", current_status=task.status)
    return task


def _touch(task: Task) -> None:
    task.updated_at = utcnow()


async def update_task(session: AsyncSession, *, task_id: uuid.UUID, changes: dict[str, Any]) -> Task:
    """Edit an open task (pending <-> in progress allowed; closing goes through complete/cancel)."""
    task = await _open(session, task_id)
    for field in ("title", "priority", "status", "tags", "metadata"):
        if field in changes and changes[field] is None:
            raise _field_error(field, "cannot be null")
    for key, value in changes.items():
        setattr(task, "attributes" if key == "metadata" else key, getattr(value, "value", value))
    _touch(task)
    await repository.flush(session)
    return task


async def assign_task(session: AsyncSession, *, task_id: uuid.UUID, assigned_to: uuid.UUID) -> Task:
    """Give an open task to someone."""
    task = await _open(session, task_id)
    task.assigned_to = assigned_to
    _touch(task)
    await repository.flush(session)
    return task


async def complete_task(session: AsyncSession, *, rt: Runtime, viewer: Viewer, task_id: uuid.UUID) -> Task:
    """Close an open task as done. Publishes `task.completed`."""
    return await _complete(session, rt, await _open(session, task_id), viewer.actor_id)


async def complete_automatically(session: AsyncSession, *, rt: Runtime, task: Task, note: str) -> Task:
    """An automation closes an open task, saying why in its description. Publishes `task.completed`."""
    task.description = f"{task.description}\n\n{note}" if task.description else note
    return await _complete(session, rt, task, None)


async def open_tasks_of_policy(
    session: AsyncSession, *, policy_id: uuid.UUID, task_types: Sequence[str]
) -> Sequence[Task]:
    """The open tasks of these types about a policy, locked for a change."""
    return await repository.open_for_policy(session, policy_id=policy_id, task_types=task_types)


async def _complete(session: AsyncSession, rt: Runtime, task: Task, actor: uuid.UUID | None) -> Task:
    task.status = TaskStatus.completed.value
    task.completed_at = utcnow()
    task.completed_by = actor
    _touch(task)
    await repository.flush(session)
    await rt.outbox.publish(
        session,
        TaskCompleted(
            task_id=task.id,
            title=task.title,
            assigned_to=task.assigned_to,
            customer_id=task.customer_id,
            completed_at=task.completed_at,
            completed_by=task.completed_by,
        ),
        key=str(task.id),
    )
    return task


async def cancel_task(session: AsyncSession, *, task_id: uuid.UUID, reason: str | None) -> Task:
    """Close an open task as no longer needed."""
    task = await _open(session, task_id)
    task.status = TaskStatus.cancelled.value
    task.cancelled_at = utcnow()
    task.cancel_reason = reason
    _touch(task)
    await repository.flush(session)
    return task


async def search_tasks(
    session: AsyncSession,
    *,
    statuses: Sequence[str] | None,
    assigned_to: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    priority: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Task], list[Any] | None]:
    """One page of tasks, newest first."""
    return await repository.search(
        session,
        statuses=statuses,
        assigned_to=assigned_to,
        customer_id=customer_id,
        priority=priority,
        due_from=None,
        due_before=None,
        after=after,
        limit=limit,
    )


def local_day_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of today in Spain, as aware datetimes."""
    local = (now or utcnow()).astimezone(LOCAL_TZ)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, (start + timedelta(days=1)).replace(tzinfo=LOCAL_TZ)


async def due_today(session: AsyncSession, *, assigned_to: uuid.UUID | None, limit: int) -> Sequence[Task]:
    """Open tasks due today (Spanish time), soonest first."""
    start, end = local_day_bounds()
    return await repository.due(session, start=start, end=end, assigned_to=assigned_to, limit=limit)


async def overdue(session: AsyncSession, *, assigned_to: uuid.UUID | None, limit: int) -> Sequence[Task]:
    """Open tasks whose due time has passed, oldest first."""
    return await repository.due(session, start=None, end=utcnow(), assigned_to=assigned_to, limit=limit)


async def tasks_of(session: AsyncSession, *, customer_id: uuid.UUID) -> Sequence[Task]:
    """Every task about a customer (for exports)."""
    return await repository.for_customer(session, customer_id)
