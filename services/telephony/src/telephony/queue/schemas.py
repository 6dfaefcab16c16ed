"""Response bodies of the queue API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from telephony.calls.models import PRIORITIES, QueueEntry


class QueuedCallOut(BaseModel):
    call_id: uuid.UUID
    call_sid: str
    position: int | None
    customer_id: uuid.UUID | None
    customer_phone: str
    department: str
    priority: str
    base_priority: str
    preferred_agent_id: uuid.UUID | None
    state: str
    enqueued_at: datetime
    escalated_at: datetime | None
    assigned_to: uuid.UUID | None
    assigned_at: datetime | None

    @classmethod
    def of(cls, entry: QueueEntry, *, position: int | None) -> QueuedCallOut:
        return cls(
            call_id=entry.call_id,
            call_sid=entry.call_sid,
            position=position,
            customer_id=entry.customer_id,
            customer_phone=entry.customer_phone,
            department=entry.department,
            priority=PRIORITIES[entry.priority],
            base_priority=PRIORITIES[entry.base_priority],
            preferred_agent_id=entry.preferred_agent_id,
            state=entry.state,
            enqueued_at=entry.enqueued_at,
            escalated_at=entry.escalated_at,
            assigned_to=entry.assigned_to,
            assigned_at=entry.assigned_at,
        )


class QueueOut(BaseModel):
    waiting: int
    items: list[QueuedCallOut]


class SkillMetricsOut(BaseModel):
    skill: str
    waiting: int
    longest_wait_seconds: float
    offered: int = Field(description="Callers since `since` whose outcome against the threshold is known")
    answered_within_threshold: int
    service_level: float | None = Field(description="answered_within_threshold / offered (0-1); null: none")


class QueueMetricsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "since": "2026-12-06T15:00:00Z",
                    "service_level_seconds": 20,
                    "skills": [
                        {
                            "skill": "claims",
                            "waiting": 3,
                            "longest_wait_seconds": 74.2,
                            "offered": 40,
                            "answered_within_threshold": 34,
                            "service_level": 0.85,
                        }
                    ],
                }
            ]
        }
    )

    since: datetime
    service_level_seconds: int
    skills: list[SkillMetricsOut]
