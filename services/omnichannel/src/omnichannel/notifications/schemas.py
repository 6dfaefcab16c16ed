"""Bodies of the notification centre endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal[
    "policy_expiring",
    "claim_status_changed",
    "task_assigned",
    "quote_accepted",
    "fraud_alert",
]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    in_app: bool = True
    email: bool = False
    sms: bool = False
    whatsapp: bool = False


class PreferencesIn(BaseModel):
    """Where each kind of notification goes; kinds not listed keep their setting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"preferences": [{"kind": "claim_status_changed", "in_app": True, "email": True}]}]
        },
    )

    preferences: list[PreferenceIn] = Field(min_length=1, max_length=20)


class PreferenceOut(BaseModel):
    kind: str
    in_app: bool
    email: bool
    sms: bool
    whatsapp: bool
