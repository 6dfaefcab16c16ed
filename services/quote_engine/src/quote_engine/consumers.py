"""The events this service consumes: topic -> event type -> handler (none yet)."""

from __future__ import annotations

from aintech_shared.events.consumer import ConsumerSpec
from quote_engine.core.runtime import Runtime


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The quote engine consumes no event yet (the OptiMax read model of policies will)."""
    return []
