"""Events of ai-fraud (fraud scores and alerts).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from aintech_contracts.events.base import declare_topic

SCORE_TOPIC = declare_topic("fraud.score", 3)
