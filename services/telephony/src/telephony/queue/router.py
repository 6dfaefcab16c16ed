"""Queue API: who is waiting, in order; assign the next caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from telephony.core.deps import Agent, Supervisor
from telephony.core.runtime import RuntimeDep
from telephony.queue import service
from telephony.queue.schemas import QueuedCallOut, QueueOut

router = APIRouter(prefix="/queue", tags=["queue"])


@router.get(
    "",
    response_model=QueueOut,
    summary="Waiting callers in the order they will be served",
    description="Priority first (urgent, high, normal, low), then the longest waiting; `position` 1 is next.",
)
async def waiting(
    db: DbSession, principal: Agent, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> QueueOut:
    entries = await service.waiting(db, limit=limit)
    return QueueOut(
        waiting=await service.waiting_count(db),
        items=[QueuedCallOut.of(e, position=i + 1) for i, e in enumerate(entries)],
    )


@router.post(
    "/assign",
    response_model=QueuedCallOut,
    summary="Give the next waiting caller to an agent now",
    description="The caller's last agent when free, otherwise the longest-idle available agent. "
    "Publishes `queue.call_assigned`; the worker does the same every few seconds.",
    responses=responses((409, "Nobody waits, or no agent is available")),
)
async def assign(db: DbSession, rt: RuntimeDep, principal: Supervisor) -> QueuedCallOut:
    entry = await service.assign_one_now(db, rt=rt)
    return QueuedCallOut.of(entry, position=None)
