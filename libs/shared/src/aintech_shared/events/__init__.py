"""Domain events: the CloudEvents envelope, the typed catalogue, the outbox and the consumers."""

from aintech_shared.events.catalogue import CATALOGUE, TOPICS, EventData, dead_letter_topic
from aintech_shared.events.envelope import CloudEvent

__all__ = ["CATALOGUE", "TOPICS", "CloudEvent", "EventData", "dead_letter_topic"]
