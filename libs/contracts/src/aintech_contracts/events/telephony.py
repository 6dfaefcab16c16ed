"""Events of telephony (calls, agents, the call queue).

Calls are keyed by the call's id (every event of one call keeps its order), agent events by the
agent's user id. Statuses are Twilio's call statuses (``CallStatus`` in ``aintech_contracts.statuses``:
``queued``, ``initiated``, ``ringing``, ``in-progress``, ``completed``, ``busy``, ``no-answer``,
``canceled``, ``failed``). Every ended call
is also published as ``interaction.logged`` (see the CRM catalogue) for the customer timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from aintech_contracts.events.base import EventData, declare_topic
from aintech_contracts.statuses import AgentState, CallOutcome, CallStatus

CALL_TOPIC = declare_topic("telephony.call", 3)
AGENT_TOPIC = declare_topic("telephony.agent", 3)
QUEUE_TOPIC = declare_topic("telephony.queue", 3)

CallDirection = Literal["inbound", "outbound"]
Department = Literal["claims", "sales", "renewals", "other"]
# What an agent can handle (a department or a language), with a level 1-5; what a call requires.
Skill = Literal["claims", "sales", "renewals", "es", "en"]
SKILLS: tuple[str, ...] = ("claims", "sales", "renewals", "es", "en")
Priority = Literal["low", "normal", "high", "urgent"]


class _CallFields(EventData):
    call_id: UUID
    call_sid: str = Field(description="Twilio's CallSid of the customer's leg.")
    direction: CallDirection
    customer_id: UUID | None = None
    customer_phone: str = Field(description="E.164")
    agent_id: UUID | None = None


class CallInitiated(_CallFields):
    """A call started: an agent dialled out, or a customer's call reached the IVR."""

    event_type = "call.initiated"
    topic = CALL_TOPIC
    initiated_at: datetime


class CallAnswered(_CallFields):
    """The customer and an agent are connected."""

    event_type = "call.answered"
    topic = CALL_TOPIC
    answered_at: datetime


class CallEnded(_CallFields):
    """A call is over; ``status`` is its final Twilio status (``completed``, ``no-answer``...)."""

    event_type = "call.ended"
    topic = CALL_TOPIC
    status: CallStatus
    outcome: CallOutcome
    duration_seconds: int | None = Field(default=None, ge=0)
    answered_at: datetime | None = None
    ended_at: datetime


class CallTransferred(_CallFields):
    """An agent handed the call to another agent or to an outside number."""

    event_type = "call.transferred"
    topic = CALL_TOPIC
    kind: Literal["warm", "cold"]
    from_agent_id: UUID | None = None
    to_agent_id: UUID | None = None
    to_number: str | None = None
    transferred_at: datetime


class CallRecordingAvailable(EventData):
    """A recording of a call (or a voicemail) is ready at ``recording_url``."""

    event_type = "call.recording_available"
    topic = CALL_TOPIC
    call_id: UUID
    call_sid: str
    recording_sid: str
    recording_url: str
    duration_seconds: int | None = Field(default=None, ge=0)
    voicemail: bool = False
    transcription_requested: bool = False
    customer_id: UUID | None = None
    agent_id: UUID | None = None


class AgentStatusChanged(EventData):
    """An agent became available, busy, away or offline."""

    event_type = "agent.status_changed"
    topic = AGENT_TOPIC
    agent_id: UUID
    status: AgentState
    previous_status: AgentState | None = None
    current_call_id: UUID | None = None
    reason: str | None = None
    changed_at: datetime


class AgentSkillsChanged(EventData):
    """A supervisor set an agent's skills (departments and languages, each with a level 1-5); the
    whole set, replacing the previous one. Omnichannel routes conversations by them too."""

    event_type = "agent.skills_changed"
    topic = AGENT_TOPIC
    agent_id: UUID
    skills: dict[Skill, int] = Field(description="skill -> level (1-5); an absent skill is not held")
    changed_by: UUID | None = None
    changed_at: datetime


class _QueueFields(EventData):
    call_id: UUID
    call_sid: str
    customer_id: UUID | None = None
    customer_phone: str
    department: Department
    priority: Priority


class QueueCallAdded(_QueueFields):
    """A caller waits for an agent (position counted among waiting callers, 1 = next)."""

    event_type = "queue.call_added"
    topic = QUEUE_TOPIC
    position: int = Field(ge=1)
    enqueued_at: datetime


class QueueCallAssigned(_QueueFields):
    """A waiting caller was given to an agent."""

    event_type = "queue.call_assigned"
    topic = QUEUE_TOPIC
    agent_id: UUID
    waited_seconds: int = Field(ge=0)
    routed_to_last_agent: bool = False
    required_skills: list[Skill] = Field(default_factory=list)
    # True when no agent with the required skills was free within the widening wait and any agent took it
    widened: bool = False
    assigned_at: datetime


class QueueCallAbandoned(_QueueFields):
    """A caller hung up before an agent took the call."""

    event_type = "queue.call_abandoned"
    topic = QUEUE_TOPIC
    waited_seconds: int = Field(ge=0)
    abandoned_at: datetime
