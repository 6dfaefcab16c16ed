"""The events that may start a workflow: business facts about customers and their contacts.

The workflow-trigger consumer reads only the topics of these events and handles only these types
(any other event on those topics is skipped without a database round trip). Left out on purpose:

* ``auth.security`` and ``auth.session`` — password-reset and verification notices carry one-time
  links; a workflow could forward them to a webhook;
* ``crm.email_requested`` and ``interaction.logged`` — the CRM's own plumbing (a workflow's
  e-mail step publishes the first; the second becomes ``interaction.created``);
* the agent-presence, queue-routing and call-progress events of telephony, and ``message.sent``
  — high-volume operational events, nothing an agent-facing automation waits for (a finished
  call is ``call.ended``, a caller who hung up in the queue ``queue.call_abandoned``).

A workflow can only be defined on one of these (422 otherwise).
"""

from __future__ import annotations

from aintech_contracts.events import CATALOGUE

TRIGGER_EVENTS: frozenset[str] = frozenset(
    {
        # crm
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "policy.created",
        "policy.renewed",
        "policy.cancelled",
        "policy.expiring_soon",
        "claim.created",
        "claim.updated",
        "claim.approved",
        "claim.denied",
        "claim.paid",
        "quote.created",
        "quote.converted",
        "interaction.created",
        "task.created",
        "task.completed",
        "lead.received",
        # omnichannel
        "renewal.confirmed",
        "message.received",
        "contact.opted_out",
        "contact.opted_in",
        "campaign.completed",
        # telephony
        "call.ended",
        "call.recording_available",
        "queue.call_abandoned",
        # authenticator
        "user.registered",
        "user.email_verified",
    }
)


def trigger_topics() -> list[str]:
    """The topics the trigger events are published on."""
    return sorted({CATALOGUE[event_type].topic for event_type in TRIGGER_EVENTS})
