"""Request and response bodies of the task endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core_crm.core.types import Instant, JsonObject, LongText, Omittable, Str50, Str255, Tags
from core_crm.tasks.models import TaskPriority


class TaskCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Llamar para renovar la póliza de hogar",
                    "task_type": "renewal",
                    "priority": "high",
                    "customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63",
                    "due_date": "2026-12-01T09:00:00+01:00",
                }
            ]
        },
    )

    title: Str255
    description: LongText | None = None
    task_type: Str50 | None = None
    priority: TaskPriority = TaskPriority.medium
    assigned_to: uuid.UUID | None = Field(default=None, description="Default: unassigned.")
    customer_id: uuid.UUID | None = None
    policy_id: uuid.UUID | None = None
    claim_id: uuid.UUID | None = None
    quote_id: uuid.UUID | None = None
    due_date: Instant | None = None
    tags: Tags = Field(default_factory=list)
    metadata: JsonObject = Field(default_factory=dict)


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"priority": "urgent"}]})

    title: Omittable[Str255] = None
    description: LongText | None = None
    task_type: Str50 | None = None
    priority: Omittable[TaskPriority] = None
    status: Omittable[Literal["pending", "in_progress"]] = Field(
        default=None, description="Use complete/cancel to close."
    )
    due_date: Instant | None = None
    tags: Omittable[Tags] = None
    metadata: Omittable[JsonObject] = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class AssignTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assigned_to: uuid.UUID


class CancelTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Str255 | None = None


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    task_type: str | None
    priority: str
    status: str
    assigned_to: uuid.UUID | None
    created_by: uuid.UUID | None
    customer_id: uuid.UUID | None
    policy_id: uuid.UUID | None
    claim_id: uuid.UUID | None
    quote_id: uuid.UUID | None
    due_date: datetime | None
    completed_at: datetime | None
    completed_by: uuid.UUID | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    tags: list[str]
    metadata: dict[str, Any] = Field(validation_alias="attributes")
    created_at: datetime
    updated_at: datetime
