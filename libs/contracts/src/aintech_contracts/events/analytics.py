"""Events of analytics (reports).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from aintech_contracts.events.base import declare_topic

REPORT_TOPIC = declare_topic("analytics.report", 3)
