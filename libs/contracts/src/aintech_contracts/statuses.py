"""The status vocabularies the fleet agrees on: one enum per kind of status.

The producer's database (CHECK constraints, state machines) is built from these enums, the event
payloads declare them (an event carrying a value outside its vocabulary is refused), and consumers
compare against their members, never against string literals. Every value a customer or an agent
can be told about has a Spanish and an English text in omnichannel's message templates
(``templating/templates/<lang>/statuses.txt``); a test walks every value of ``VOCABULARIES``
through them.
"""

from __future__ import annotations

from enum import StrEnum

# --- core CRM ------------------------------------------------------------------------------------


class ClaimStatus(StrEnum):
    """A claim's state machine: reported -> investigating -> approved -> paid, or -> denied."""

    reported = "reported"
    investigating = "investigating"
    approved = "approved"
    denied = "denied"
    paid = "paid"


# Where a claim's life ends (no move out of them): callers no longer have an open claim.
FINAL_CLAIM_STATUSES = frozenset({ClaimStatus.denied, ClaimStatus.paid})


class PolicyStatus(StrEnum):
    pending = "pending"
    active = "active"
    expired = "expired"
    cancelled = "cancelled"


class QuoteStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    accepted = "accepted"
    rejected = "rejected"
    expired = "expired"
    converted = "converted"


class TaskStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class TaskPriority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class CustomerStatus(StrEnum):
    prospect = "prospect"
    active = "active"
    inactive = "inactive"
    merged = "merged"  # folded into another customer (merged_into)
    erased = "erased"  # anonymised under GDPR art. 17
    deleted = "deleted"


class CustomerSegment(StrEnum):
    prospect = "prospect"
    new = "new"
    standard = "standard"
    premium = "premium"
    vip = "vip"
    at_risk = "at_risk"


# --- telephony -----------------------------------------------------------------------------------


class CallStatus(StrEnum):
    """Twilio's call statuses, in the order a call moves through them (the last five are final)."""

    queued = "queued"
    initiated = "initiated"
    ringing = "ringing"
    in_progress = "in-progress"
    completed = "completed"
    busy = "busy"
    no_answer = "no-answer"
    canceled = "canceled"
    failed = "failed"


FINAL_CALL_STATUSES = frozenset(
    {CallStatus.completed, CallStatus.busy, CallStatus.no_answer, CallStatus.canceled, CallStatus.failed}
)


class CallOutcome(StrEnum):
    """How an ended call went, for the timeline and the agents' figures."""

    answered = "answered"
    missed = "missed"
    abandoned = "abandoned"
    voicemail = "voicemail"
    failed = "failed"


class AgentState(StrEnum):
    available = "available"
    busy = "busy"
    away = "away"
    offline = "offline"


# --- omnichannel ---------------------------------------------------------------------------------


class ConversationStatus(StrEnum):
    """An inbox thread: open and pending count against the assignee's capacity."""

    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    resolved = "resolved"


ACTIVE_CONVERSATION_STATUSES = (ConversationStatus.open, ConversationStatus.pending)


class SendStatus(StrEnum):
    """What the provider answered to an outbound message (``message.sent``)."""

    sent = "sent"
    failed = "failed"


# The vocabularies by the name their texts carry in the message templates.
VOCABULARIES: dict[str, type[StrEnum]] = {
    "claim_status": ClaimStatus,
    "policy_status": PolicyStatus,
    "quote_status": QuoteStatus,
    "task_status": TaskStatus,
    "task_priority": TaskPriority,
    "customer_status": CustomerStatus,
    "customer_segment": CustomerSegment,
    "call_status": CallStatus,
    "call_outcome": CallOutcome,
    "agent_state": AgentState,
    "conversation_status": ConversationStatus,
    "send_status": SendStatus,
}


def vocabulary_of(enum: type[StrEnum]) -> str:
    """The template name of ``enum``'s vocabulary (``ClaimStatus`` -> ``claim_status``)."""
    for name, member in VOCABULARIES.items():
        if member is enum:
            return name
    raise KeyError(f"{enum.__name__} is not a status vocabulary")
