"""Response bodies of the change-history endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FieldChange(BaseModel):
    old: Any = Field(description="The value before the change (null when the record was created).")
    new: Any = Field(description="The value after the change (null when the record was deleted).")


class ChangeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b7e4c1a-6f0d-4a57-9b7e-2f4c1d9e8a10",
                    "entity": "customer",
                    "entity_id": "5d0f3a5e-2c4b-4f1e-9b7a-1c2d3e4f5a6b",
                    "operation": "updated",
                    "changes": {"mobile": {"old": "+34600111222", "new": "+34699111222"}},
                    "actor": {"type": "user", "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "role": "agent"},
                    "request_id": "5f1c0d2a9b8e4f7d8c6b5a4e3d2c1b0a",
                    "event_id": None,
                    "event_type": None,
                    "changed_at": "2026-12-07T10:15:02.123456Z",
                    "redacted": False,
                }
            ]
        }
    )

    id: uuid.UUID
    entity: Literal["customer", "policy", "claim", "quote", "task", "workflow"]
    entity_id: uuid.UUID
    operation: Literal["created", "updated", "deleted"]
    changes: dict[str, FieldChange] = Field(
        description="Each changed field with its old and new value; personal values of an erased "
        'customer read `"[redacted]"`.'
    )
    actor: dict[str, Any] = Field(
        description="`type` `user` (with `id` and `role`) or `system` (an automation: `event_id` "
        "names the event that caused it, none for a scheduled job)."
    )
    request_id: str | None = Field(description="The API request that made the change.")
    event_id: str | None = Field(description="The event whose handling made the change.")
    event_type: str | None
    changed_at: datetime
    redacted: bool
