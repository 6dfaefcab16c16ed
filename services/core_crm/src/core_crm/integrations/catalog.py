"""The events a webhook subscription may ask for: the CRM's own business events."""

from __future__ import annotations

from aintech_contracts.events import crm
from aintech_contracts.events.base import EventData

_EVENTS: tuple[type[EventData], ...] = (
    crm.CustomerCreated,
    crm.CustomerUpdated,
    crm.CustomerDeleted,
    crm.PolicyCreated,
    crm.PolicyRenewed,
    crm.PolicyCancelled,
    crm.PolicyExpiringSoon,
    crm.ClaimCreated,
    crm.ClaimUpdated,
    crm.ClaimApproved,
    crm.ClaimDenied,
    crm.ClaimPaid,
    crm.QuoteCreated,
    crm.QuoteConverted,
    crm.InteractionCreated,
    crm.TaskCreated,
    crm.TaskCompleted,
)

# event type -> topic. Left out: the CRM's plumbing (e-mail and code requests, pricing requests,
# the timeline intake `interaction.logged` other services publish).
WEBHOOK_EVENTS: dict[str, str] = {e.event_type: e.topic for e in _EVENTS}


def topics() -> list[str]:
    return sorted(set(WEBHOOK_EVENTS.values()))
