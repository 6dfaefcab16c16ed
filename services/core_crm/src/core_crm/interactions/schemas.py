"""Request and response bodies of the interaction endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.jsontypes import JSON_INTEGER
from core_crm.core.types import Instant, JsonObject, LongText, Str50, Str100, Str255, Tags, Url
from core_crm.interactions.models import Direction, InteractionType


class InteractionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63",
                    "type": "call",
                    "direction": "outbound",
                    "subject": "Renovación de la póliza de hogar",
                    "description": "Acepta la renovación con la nueva prima.",
                    "outcome": "renewal_accepted",
                    "duration": 312,
                }
            ]
        },
    )

    customer_id: uuid.UUID
    type: InteractionType
    direction: Direction | None = None
    channel: Str50 | None = None
    subject: Str255 | None = None
    description: LongText | None = None
    outcome: Str100 | None = None
    duration: Annotated[int, Field(ge=0, le=86_400), JSON_INTEGER] | None = Field(
        default=None, description="Seconds (calls, meetings)."
    )
    recording_url: Url | None = None
    call_sid: Str100 | None = None
    policy_id: uuid.UUID | None = None
    claim_id: uuid.UUID | None = None
    quote_id: uuid.UUID | None = None
    occurred_at: Instant | None = Field(default=None, description="Default: now.")
    scheduled_at: Instant | None = None
    tags: Tags = Field(default_factory=list)
    metadata: JsonObject = Field(default_factory=dict)


class InteractionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    type: str
    direction: str | None
    channel: str | None
    subject: str | None
    description: str | None
    outcome: str | None
    duration: int | None
    recording_url: str | None
    call_sid: str | None
    source: str
    external_id: str | None
    policy_id: uuid.UUID | None
    claim_id: uuid.UUID | None
    quote_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    tags: list[str]
    metadata: dict[str, Any] = Field(validation_alias="attributes")
    occurred_at: datetime
    created_at: datetime
    scheduled_at: datetime | None
