"""Tables of the `telephony` schema (imported here so Alembic sees the whole metadata)."""

from telephony.agents.models import AgentStatus, AgentStatusChange
from telephony.calls.models import Call, QueueEntry, WebhookReceipt
from telephony.core.base import MESSAGING, Base
from telephony.customers.models import Customer, OpenClaim
from telephony.signalling.models import SignallingPresence

__all__ = [
    "MESSAGING",
    "AgentStatus",
    "AgentStatusChange",
    "Base",
    "Call",
    "Customer",
    "OpenClaim",
    "QueueEntry",
    "SignallingPresence",
    "WebhookReceipt",
]
