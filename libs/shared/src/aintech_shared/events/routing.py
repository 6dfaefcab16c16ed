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
transaction with the processed-event row (see :mod:`aintech_shared.events.consumer`). A handler
wrapped in :func:`batched` takes a run of consecutive events of its type at once (a batch handler,
for an effect that is a row written per event: one statement for the run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aintech_shared.events.consumer import BatchHandler, ConsumerSpec, Handler


@dataclass(frozen=True)
class Batched:
    """A batch handler in a routing table (see :func:`batched`)."""

    handler: BatchHandler


def batched(handler: BatchHandler) -> Batched:
    """Route an event type to a batch handler: ``(session, events)`` for each run of its events."""
    return Batched(handler)


Routes = Mapping[str, Mapping[str, Handler | Batched]]


def consumer_group(name: str, routes: Routes, **options: Any) -> ConsumerSpec:
    """The :class:`ConsumerSpec` of group ``name`` for ``routes`` (topic -> event type -> handler).

    ``options`` are the spec's tuning fields (``max_attempts``, ``backoff_base``...). An event
    type routed from two topics of one group is refused: its handler would be ambiguous.
    """
    handlers: dict[str, Handler] = {}
    batch_handlers: dict[str, BatchHandler] = {}
    seen: dict[str, Handler | Batched] = {}
    for topic, by_type in routes.items():
        for event_type, handler in by_type.items():
            if event_type in seen and seen[event_type] != handler:
                raise ValueError(f"{name}: {event_type} is routed to two handlers (second on {topic})")
            seen[event_type] = handler
            if isinstance(handler, Batched):
                batch_handlers[event_type] = handler.handler
            else:
                handlers[event_type] = handler
    return ConsumerSpec(
        name=name, topics=list(routes), handlers=handlers, batch_handlers=batch_handlers, **options
    )
