"""Request and response bodies of the unmatched-contact endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core_crm.core.types import Str255


class UnmatchedOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "5d0c1c7e-8a3b-4f4e-9b61-2f7d8e1a9c30",
                    "source": "telephony",
                    "external_id": "CA8f2d0c1c7e8a3b4f4e9b612f7d8e1a9c",
                    "type": "call",
                    "direction": "inbound",
                    "occurred_at": "2026-11-24T10:12:00Z",
                    "customer_hint": None,
                    "phone": "+34611223344",
                    "email": None,
                    "agent_id": None,
                    "subject": "Llamada entrante",
                    "summary": "Pregunta por el seguro de hogar.",
                    "outcome": "answered",
                    "duration_seconds": 184,
                    "recording_url": None,
                    "status": "open",
                    "customer_id": None,
                    "interaction_id": None,
                    "resolved_by": None,
                    "resolved_at": None,
                    "dismiss_reason": None,
                    "received_at": "2026-11-24T10:15:03Z",
                }
            ]
        },
    )

    id: uuid.UUID
    source: str = Field(description="`telephony` or `omnichannel`.")
    external_id: str = Field(description="The call SID or message id at the source.")
    type: str
    direction: str | None
    occurred_at: datetime
    customer_hint: uuid.UUID | None = Field(
        description="A customer id the source had, no longer a live customer (deleted, erased)."
    )
    phone: str | None
    email: str | None
    agent_id: uuid.UUID | None
    subject: str | None
    summary: str | None
    outcome: str | None
    duration_seconds: int | None
    recording_url: str | None
    status: str = Field(description="`open`, `linked` (see `interaction_id`) or `dismissed`.")
    customer_id: uuid.UUID | None
    interaction_id: uuid.UUID | None = Field(description="The timeline entry it became once linked.")
    resolved_by: uuid.UUID | None = Field(
        description="Who linked or dismissed it; null when linked automatically."
    )
    resolved_at: datetime | None
    dismiss_reason: str | None
    received_at: datetime


class LinkRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63"}]},
    )

    customer_id: uuid.UUID


class DismissRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Número equivocado"}]}
    )

    reason: Str255 | None = None
