"""Bodies of the notification centre endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

Kind = Literal[
    "policy_expiring",
    "claim_status_changed",
    "task_assigned",
    "quote_accepted",
    "fraud_alert",
    "negative_message",
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
    # Strict: 0, 1 or "yes" are not booleans in the document, so they are refused here too.
    in_app: StrictBool = True
    email: StrictBool = False
    sms: StrictBool = False
    whatsapp: StrictBool = False


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
