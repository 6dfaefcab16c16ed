"""Customer events that arrive before the customer does (different topics, no order between them):
parked, then handled as soon as ``customer.created`` reaches the read model, or expired visibly after
``OMNICHANNEL_PARKED_DELIVERY_MAX_WAIT_SECONDS`` (nothing is dropped silently).

The consumer of ``crm.customer`` releases a customer's parked events in the same transaction that
stores the customer; a scheduled sweep releases any the consumer could not see yet (an event parked
by a concurrent transaction) and expires those past the wait.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_shared.events.consumer import Handler
from omnichannel.core.base import utcnow
from omnichannel.delivery import repository
from omnichannel.delivery.models import ParkedDelivery

log = structlog.get_logger("omnichannel.parking")

PARKED = Counter(
    "omnichannel_parked_deliveries_total",
    "Customer events parked until the customer is known, by outcome",
    ["outcome"],  # parked, released, failed, expired
)
SWEEP_BATCH = 100


async def park(session: AsyncSession, *, event: CloudEvent, customer_id: uuid.UUID) -> None:
    """Keep ``event`` until ``customer_id`` is known here."""
    await repository.park(
        session,
        {
            "event_id": event.id[:200],
            "customer_id": customer_id,
            "event_type": event.type[:100],
            "event": orjson.loads(event.to_bytes()),
        },
    )
    PARKED.labels("parked").inc()
    log.info("delivery_parked", event_id=event.id, event_type=event.type, customer_id=str(customer_id))


async def release(session: AsyncSession, *, customer_id: uuid.UUID, handlers: Mapping[str, Handler]) -> int:
    """Handle the customer's parked events now, in arrival order; how many were handled. One that
    fails is recorded ``failed`` (with the error) without holding back the others."""
    handled = 0
    for parked in await repository.waiting_for(session, customer_id):
        handled += await _replay(session, parked, handlers)
    return handled


async def _replay(session: AsyncSession, parked: ParkedDelivery, handlers: Mapping[str, Handler]) -> int:
    event = CloudEvent.model_validate(parked.event)
    handler = handlers.get(parked.event_type)
    try:
        if handler is None:
            raise LookupError(f"no handler for {parked.event_type}")
        async with session.begin_nested():
            await handler(session, event)
    except Exception as exc:
        await repository.resolve(session, parked.event_id, status="failed", now=utcnow(), detail=repr(exc))
        PARKED.labels("failed").inc()
        log.error(
            "parked_delivery_failed", event_id=parked.event_id, event_type=parked.event_type, error=repr(exc)
        )
        return 0
    await repository.resolve(session, parked.event_id, status="released", now=utcnow(), detail=None)
    PARKED.labels("released").inc()
    log.info("parked_delivery_released", event_id=parked.event_id, event_type=parked.event_type)
    return 1


async def sweep(session: AsyncSession, *, handlers: Mapping[str, Handler], max_wait: timedelta) -> None:
    """Release what waits for customers known by now; expire what waited longer than ``max_wait``."""
    for customer_id in await repository.customers_now_known(session, limit=SWEEP_BATCH):
        await release(session, customer_id=customer_id, handlers=handlers)
    now = utcnow()
    for expired in await repository.expire(session, parked_before=now - max_wait, now=now):
        PARKED.labels("expired").inc()
        log.error(
            "parked_delivery_expired",
            event_id=expired.event_id,
            event_type=expired.event_type,
            customer_id=str(expired.customer_id),
            parked_at=expired.parked_at.isoformat(),
        )


async def purge(session: AsyncSession, *, before: datetime) -> int:
    """Delete resolved deliveries (released, failed, expired) resolved before ``before``."""
    return await repository.purge_resolved(session, before=before)


async def listing(
    session: AsyncSession, *, status: str | None, after: list[Any] | None, limit: int
) -> tuple[list[ParkedDelivery], list[Any] | None]:
    """Parked deliveries, newest first (``status``: parked, released, failed, expired)."""
    return await repository.listing(session, status=status, after=after, limit=limit)
