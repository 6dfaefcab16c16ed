"""Request and response bodies of the calls API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from aintech_shared.pagination import CursorPage
from telephony.calls.models import Call

PHONE_PATTERN = r"^[0-9+() .\-]+$"


class InitiateCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=3, max_length=32, pattern=PHONE_PATTERN, examples=["+34612345678"])


class TransferCall(BaseModel):
    """Exactly one target: another agent (warm or cold) or an outside number (cold)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["warm", "cold"] = "cold"
    to_agent_id: uuid.UUID | None = None
    to_number: str | None = Field(
        default=None, min_length=3, max_length=32, pattern=PHONE_PATTERN, examples=["+34910123456"]
    )

    @model_validator(mode="after")
    def _one_target(self) -> TransferCall:
        if (self.to_agent_id is None) == (self.to_number is None):
            raise ValueError("give exactly one of to_agent_id and to_number")
        return self


class Toggle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: StrictBool = True


class RecordingAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["start", "pause", "resume"]


class CallOut(BaseModel):
    id: uuid.UUID
    call_sid: str | None
    direction: str
    status: str
    customer_id: uuid.UUID | None
    customer_phone: str
    agent_id: uuid.UUID | None
    transfer_to_agent_id: uuid.UUID | None
    department: str | None
    outcome: str | None
    duration_seconds: int | None
    on_hold: bool
    muted: bool
    voicemail: bool
    recording_status: str | None
    recording_url: str | None
    recording_consent: str | None = Field(
        default=None, description="`given` / `refused` at the IVR's recording notice; null: not asked"
    )
    recording_kept: bool = Field(
        default=False, description="The recording is kept by the platform (`GET /calls/{id}/recording`)"
    )
    transcription: str | None
    routing: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The call's routing history: skills-matched assignments, and widening to any agent",
    )
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, call: Call) -> CallOut:
        return cls(
            id=call.id,
            call_sid=call.call_sid,
            direction=call.direction,
            status=call.status,
            customer_id=call.customer_id,
            customer_phone=call.customer_phone,
            agent_id=call.agent_id,
            transfer_to_agent_id=call.transfer_to_agent_id,
            department=call.department,
            outcome=call.outcome,
            duration_seconds=call.duration,
            on_hold=call.on_hold,
            muted=call.muted,
            voicemail=call.voicemail,
            recording_status=call.recording_status,
            recording_url=call.recording_url,
            recording_consent=call.recording_consent,
            recording_kept=call.recording_key is not None,
            transcription=call.transcription,
            routing=list((call.metadata_ or {}).get("routing", [])),
            created_at=call.created_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
        )


CallPage = CursorPage[CallOut]
