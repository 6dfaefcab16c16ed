"""Response bodies of the audit-log endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    action: str
    actor_id: uuid.UUID | None
    user_id: uuid.UUID | None
    resource_type: str | None
    resource_id: str | None
    ip: str | None
    user_agent: str | None
    changes: dict[str, Any] | None
    details: dict[str, Any] | None
    request_id: str | None
