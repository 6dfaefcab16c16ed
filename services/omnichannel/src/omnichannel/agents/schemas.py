"""Bodies of the agent endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.jsontypes import JSON_INTEGER, JsonInt

Presence = Literal["online", "away", "offline"]


class PresenceIn(BaseModel):
    """Go online to receive conversations; ``capacity`` is how many active ones at once."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "online", "capacity": 5}]}
    )

    status: Presence
    capacity: Annotated[int, Field(ge=1, le=100), JSON_INTEGER] | None = None


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"capacity": 8}]})

    capacity: JsonInt = Field(ge=1, le=100)


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    display_name: str
    status: Presence
    capacity: int
    active_conversations: int = 0
    last_assigned_at: datetime | None
