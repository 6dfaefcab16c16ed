"""Events of omnichannel (messages, conversations, notifications, campaigns).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from aintech_contracts.events.base import declare_topic

MESSAGE_TOPIC = declare_topic("omnichannel.message", 6)
