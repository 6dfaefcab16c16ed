"""The event catalogue: one module per bounded context; importing this package loads them all."""

from aintech_contracts.events import analytics, auth, crm, fraud, omnichannel, quotes, scraper, telephony
from aintech_contracts.events.base import (
    CATALOGUE,
    DEAD_LETTER_PARTITIONS,
    TOPICS,
    EventData,
    all_topics,
    dead_letter_topic,
    declare_topic,
)

CONTEXTS = (auth, crm, telephony, omnichannel, quotes, scraper, fraud, analytics)

__all__ = [
    "CATALOGUE",
    "CONTEXTS",
    "DEAD_LETTER_PARTITIONS",
    "TOPICS",
    "EventData",
    "all_topics",
    "dead_letter_topic",
    "declare_topic",
]
