"""Bodies of the inbox endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aintech_contracts.statuses import ConversationStatus
from aintech_shared.instants import Instant
from omnichannel.core.text import Label, NoteBody

Channel = Literal["whatsapp", "sms", "email", "chat"]
Status = ConversationStatus


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: Channel
    address: str
    kind: Literal["contact", "account"] = Field(
        default="contact", description="`account`: the platform's account mails to the address (staff only)."
    )
    customer_id: uuid.UUID | None
    display_name: str | None
    subject: str | None
    status: Status
    assignee_id: uuid.UUID | None
    snoozed_until: datetime | None
    labels: list[str]
    last_seq: int
    last_message_at: datetime | None
    last_message_preview: str | None
    created_at: datetime
    resolved_at: datetime | None


class ConversationUpdate(BaseModel):
    """Change a conversation's status (snoozing needs ``snoozed_until``) and/or its labels."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "snoozed", "snoozed_until": "2026-12-01T09:00:00Z"},
                {"labels": ["renovación"]},
            ]
        },
    )

    status: Status | None = None
    snoozed_until: Instant | None = None
    labels: list[Label] | None = Field(default=None, max_length=20)


class AssignRequest(BaseModel):
    """``agent_id`` null unassigns (the conversation goes back to the queue)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"agent_id": None}]})

    agent_id: uuid.UUID | None


class NoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Llamar el lunes: quiere comparar con AXA."}]},
    )

    body: NoteBody


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: datetime
