"""Request and response bodies of the agents API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from telephony.agents.models import AgentStatus


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["available", "away", "offline"] = Field(
        description="`busy` is set by calls, never by hand.", examples=["available"]
    )
    reason: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00]*$", examples=["lunch"])
    agent_id: uuid.UUID | None = Field(
        default=None, description="Supervisors may change another agent's status; agents only their own."
    )


class AgentOut(BaseModel):
    agent_id: uuid.UUID
    status: str
    current_call_id: uuid.UUID | None
    reason: str | None
    last_status_change: datetime

    @classmethod
    def of(cls, row: AgentStatus) -> AgentOut:
        return cls(
            agent_id=row.agent_id,
            status=row.status,
            current_call_id=row.current_call_id,
            reason=row.reason,
            last_status_change=row.last_status_change,
        )


class AgentStats(BaseModel):
    agent_id: uuid.UUID
    since: datetime
    until: datetime
    calls: int = Field(description="Calls that ended in the window with this agent.")
    answered: int
    average_duration_seconds: float | None = Field(description="Over answered calls.")
    talk_seconds: int
    seconds_by_status: dict[str, float]
    availability_percent: float | None = Field(
        description="Share of signed-in (not offline) time spent available or on calls."
    )


class VoiceToken(BaseModel):
    token: str = Field(description="Twilio Access Token (JWT) with a Voice grant.")
    identity: str = Field(description="The agent's user id: the softphone is `client:<identity>`.")
    expires_in: int = Field(description="Seconds the token is valid for.")
    console: bool = Field(description="True when no Twilio account is configured (simulated calls).")
    kind: Literal["twilio-access-token"] = "twilio-access-token"
