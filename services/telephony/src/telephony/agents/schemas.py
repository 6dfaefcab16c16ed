"""Request and response bodies of the agents API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from aintech_contracts.events.telephony import SKILLS, Skill
from aintech_shared.jsontypes import JSON_INTEGER
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


class SkillsIn(BaseModel):
    """The agent's whole set of skills (replaces the previous one): departments and languages, each
    with a level from 1 (can help) to 5 (expert). An agent with no skills takes any call."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"skills": {"claims": 4, "renewals": 2, "es": 5, "en": 3}}]},
    )

    skills: dict[Skill, Annotated[int, Field(ge=1, le=5), JSON_INTEGER]] = Field(max_length=len(SKILLS))


class SkillsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent_id": "0b8e4c6a-6f0e-4a53-9d36-5f6a7c1b2d3e",
                    "skills": {"claims": 4, "es": 5, "en": 3},
                }
            ]
        }
    )

    agent_id: uuid.UUID
    skills: dict[str, int]


class AgentOut(BaseModel):
    agent_id: uuid.UUID
    status: str
    current_call_id: uuid.UUID | None
    reason: str | None
    last_status_change: datetime
    skills: dict[str, int] = Field(default_factory=dict, description="skill -> level (1-5)")

    @classmethod
    def of(cls, row: AgentStatus) -> AgentOut:
        return cls(
            agent_id=row.agent_id,
            status=row.status,
            current_call_id=row.current_call_id,
            reason=row.reason,
            last_status_change=row.last_status_change,
            skills=dict(row.skills or {}),
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
