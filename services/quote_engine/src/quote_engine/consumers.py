"""What the quote engine does with events: topic -> event type -> handler.

* ``quote-engine.pricing`` (crm.quote): `quote.pricing_requested` -> every eligible product is
  compared for the risk and the answer is published (`quote.calculated` naming the request, or
  `quote.pricing_failed` with the reason); the CRM creates the quote from it. Kafka holds the
  requests while the engine is down, so none is lost.

* ``quote-engine.scraper`` (scraper.job): `carrier.price_observed` -> kept, and shown in
  comparisons beside the carrier's tariff price with its age.

* ``quote-engine.optimax`` (crm.policy): `policy.created|renewed|cancelled` -> the read model of
  the customers' policies OptiMax advises from.

Each handler runs in the consumer's transaction with the processed-event row.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import (
    POLICY_TOPIC,
    PolicyCancelled,
    PolicyCreated,
    PolicyRenewed,
    QuotePricingRequested,
)
from aintech_contracts.events.crm import QUOTE_TOPIC as CRM_QUOTE_TOPIC
from aintech_contracts.events.scraper import JOB_TOPIC as SCRAPER_JOB_TOPIC
from aintech_contracts.events.scraper import CarrierPriceObserved
from aintech_shared.events.consumer import ConsumerSpec
from quote_engine.core.runtime import Runtime
from quote_engine.observed import service as observed
from quote_engine.optimax import service as policies
from quote_engine.quotes import service as quotes


def pricing(rt: Runtime) -> ConsumerSpec:
    async def requested(session: AsyncSession, event: CloudEvent) -> None:
        await quotes.price_crm_request(session, rt=rt, data=event.data_as(QuotePricingRequested))

    return ConsumerSpec("quote-engine.pricing", [CRM_QUOTE_TOPIC], {"quote.pricing_requested": requested})


def optimax(rt: Runtime) -> ConsumerSpec:
    async def created(session: AsyncSession, event: CloudEvent) -> None:
        await policies.record_policy(session, data=event.data_as(PolicyCreated))

    async def renewed(session: AsyncSession, event: CloudEvent) -> None:
        await policies.record_policy(session, data=event.data_as(PolicyRenewed))

    async def cancelled(session: AsyncSession, event: CloudEvent) -> None:
        await policies.record_cancelled(session, policy_id=event.data_as(PolicyCancelled).policy_id)

    return ConsumerSpec(
        "quote-engine.optimax",
        [POLICY_TOPIC],
        {"policy.created": created, "policy.renewed": renewed, "policy.cancelled": cancelled},
    )


def scraper(rt: Runtime) -> ConsumerSpec:
    async def price_observed(session: AsyncSession, event: CloudEvent) -> None:
        await observed.record(session, event_id=str(event.id), data=event.data_as(CarrierPriceObserved))

    return ConsumerSpec(
        "quote-engine.scraper", [SCRAPER_JOB_TOPIC], {"carrier.price_observed": price_observed}
    )


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    return [pricing(rt), optimax(rt), scraper(rt)]
