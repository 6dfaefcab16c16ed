"""Queue API: who is waiting, in order; assign the next caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.instants import Instant
from telephony.core.deps import Agent, Supervisor
from telephony.core.runtime import RuntimeDep
from telephony.queue import service
from telephony.queue.schemas import QueuedCallOut, QueueMetricsOut, QueueOut, SkillMetricsOut

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


@router.get(
    "/metrics",
    response_model=QueueMetricsOut,
    summary="Queue figures per skill: waiting, longest wait, service level (supervisors)",
    description="Per required skill (department or language): callers waiting now, the longest current "
    "wait, and the service level since `since` (default the last 24 h) = callers answered within "
    "`TELEPHONY_SERVICE_LEVEL_SECONDS` (20) of joining the queue / callers whose outcome is known "
    "(answered, abandoned, or waiting past the threshold). Also on `/metrics` "
    "(`telephony_queue_waiting`, `telephony_queue_longest_wait_seconds`, `telephony_queue_service_level`).",
    responses=responses((403, "Supervisors only")),
)
async def metrics(
    db: DbSession, rt: RuntimeDep, principal: Supervisor, since: Annotated[Instant | None, Query()] = None
) -> QueueMetricsOut:
    figures = await service.metrics_by_skill(db, rt=rt, since=since)
    return QueueMetricsOut(
        since=since or service.utcnow() - timedelta(hours=24),
        service_level_seconds=rt.settings.service_level_seconds,
        skills=[
            SkillMetricsOut(
                skill=m.skill,
                waiting=m.waiting,
                longest_wait_seconds=m.longest_wait_seconds,
                offered=m.offered,
                answered_within_threshold=m.answered_within_threshold,
                service_level=m.service_level,
            )
            for m in figures
        ],
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
