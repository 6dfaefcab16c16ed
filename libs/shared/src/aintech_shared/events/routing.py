"""A service's consumers as one table: consumer group -> topic -> event type -> handler.

A service's ``consumers.py`` declares every Kafka consumer it runs in one place::

    def consumers(rt: Runtime) -> list[ConsumerSpec]:
        return [
            consumer_group("widgets.crm", {
                CUSTOMER_TOPIC: {"customer.created": on_customer, "customer.updated": on_customer},
                POLICY_TOPIC: {"policy.renewed": on_renewal},
            }),
        ]

Handlers only parse the event and call a domain service; the consumer runs them in its
transaction with the processed-event row (see :mod:`aintech_shared.events.consumer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aintech_shared.events.consumer import ConsumerSpec, Handler

Routes = Mapping[str, Mapping[str, Handler]]


def consumer_group(name: str, routes: Routes, **options: Any) -> ConsumerSpec:
    """The :class:`ConsumerSpec` of group ``name`` for ``routes`` (topic -> event type -> handler).

    ``options`` are the spec's tuning fields (``max_attempts``, ``backoff_base``...). An event
    type routed from two topics of one group is refused: its handler would be ambiguous.
    """
    handlers: dict[str, Handler] = {}
    for topic, by_type in routes.items():
        for event_type, handler in by_type.items():
            if event_type in handlers and handlers[event_type] is not handler:
                raise ValueError(f"{name}: {event_type} is routed to two handlers (second on {topic})")
            handlers[event_type] = handler
    return ConsumerSpec(name=name, topics=list(routes), handlers=handlers, **options)
