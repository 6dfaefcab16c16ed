"""Events of the quote engine (rating and carrier comparison).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from aintech_contracts.events.base import declare_topic

QUOTE_TOPIC = declare_topic("quotes.quote", 3)
