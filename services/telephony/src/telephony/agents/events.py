"""The agent.status_changed payload, built from a status row."""

from __future__ import annotations

import uuid

from aintech_contracts.events.telephony import AgentSkillsChanged, AgentStatusChanged
from telephony.agents.models import AgentStatus
from telephony.core.base import utcnow


def status_changed(row: AgentStatus, *, previous: str | None) -> AgentStatusChanged:
    return AgentStatusChanged(
        agent_id=row.agent_id,
        status=row.status,
        previous_status=previous,
        current_call_id=row.current_call_id,
        reason=row.reason,
        changed_at=row.last_status_change,
    )


def skills_changed(row: AgentStatus, *, by: uuid.UUID | None) -> AgentSkillsChanged:
    return AgentSkillsChanged(
        agent_id=row.agent_id, skills=dict(row.skills), changed_by=by, changed_at=utcnow()
    )
