"""Events of telephony (calls, agents, the call queue).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from aintech_contracts.events.base import declare_topic

CALL_TOPIC = declare_topic("telephony.call", 3)
