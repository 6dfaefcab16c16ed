"""The agent.status_changed payload, built from a status row."""

from __future__ import annotations

from aintech_contracts.events.telephony import AgentStatusChanged
from telephony.agents.models import AgentStatus


def status_changed(row: AgentStatus, *, previous: str | None) -> AgentStatusChanged:
    return AgentStatusChanged(
        agent_id=row.agent_id,
        status=row.status,
        previous_status=previous,
        current_call_id=row.current_call_id,
        reason=row.reason,
        changed_at=row.last_status_change,
    )
