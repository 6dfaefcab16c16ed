"""Every Kafka consumer analytics runs, as one table: group -> topic -> event type -> handler.

Handlers parse the event and call a domain service; the consumer runs each in its transaction with
the processed-event row (at least once, de-duplicated), e.g.::

    consumer_group(
        "analytics.crm",
        {CUSTOMER_TOPIC: {CustomerCreated.event_type: on_customer_created}},
    )
"""

from __future__ import annotations

from aintech_shared.events.consumer import ConsumerSpec
from analytics.core.runtime import Runtime


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The worker's consumers (none yet)."""
    return []
