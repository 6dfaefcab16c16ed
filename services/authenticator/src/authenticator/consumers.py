"""Every Kafka consumer the authenticator runs, as one table: group -> topic -> event type -> handler.

None today: the authenticator is the source of the identity events and learns nothing from other
services' events. A consumer is added here as ``consumer_group(name, {topic: {type: handler}})``.
"""

from __future__ import annotations

from aintech_shared.events.consumer import ConsumerSpec
from authenticator.core.runtime import Runtime


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The worker's consumers (none)."""
    return []
