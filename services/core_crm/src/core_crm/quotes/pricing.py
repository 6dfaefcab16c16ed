"""Quotes priced by the quote engine (docs/decisions/0015-crm-quotes-priced-by-events.md).

The agent's request is an event (`quote.pricing_requested`) written to the outbox in the request's
transaction, so it survives the engine being down; the engine answers with `quote.calculated`
and the quote is created from its figures, to the cent: each carrier's best-ranked eligible
offer becomes that carrier's offer, the recommended one is selected and is the quote's premium,
and each offer keeps the tariff version it was priced with (converting pins it on the policy).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import QuotePricingRequested
from aintech_contracts.events.quotes import QuoteCalculated
from core_crm.core.base import utcnow
from core_crm.core.numbers import next_number
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.quotes import events, repository
from core_crm.quotes.models import Quote, QuoteStatus
from core_crm.quotes.schemas import PricingRequest

SOURCE = "quote_engine"


async def request_pricing(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, data: PricingRequest
) -> QuotePricingRequested:
    """Ask the quote engine to price a risk for a live customer (answered by `quote.calculated`)."""
    await customers.referenced_customer(session, viewer=viewer, customer_id=data.customer_id)
    request = QuotePricingRequested(
        request_id=uuid.uuid4(),
        customer_id=data.customer_id,
        quote_type=data.quote_type.value,
        risk=data.risk,
        cover_levels=data.cover_levels,
        carriers=data.carriers,
        notes=data.notes,
        requested_by=viewer.actor_id,
        requested_at=utcnow(),
    )
    await rt.outbox.publish(session, request, key=str(data.customer_id))
    return request


def offers_of(data: QuoteCalculated) -> list[dict[str, Any]]:
    """Each carrier's best-ranked eligible offer, in ranking order, as the quote's carrier offers."""
    out: dict[str, dict[str, Any]] = {}
    for offer in sorted(data.offers, key=lambda o: o.rank or 0):
        if not offer.eligible or offer.total is None or offer.carrier.lower() in out:
            continue
        out[offer.carrier.lower()] = {
            "carrier": offer.carrier,
            "premium": str(offer.total),
            "deductible": str(offer.deductible) if offer.deductible is not None else None,
            "notes": f"{offer.cover_name} ({offer.product_code} v{offer.tariff_version})",
            "product_code": offer.product_code,
            "cover_level": offer.cover_level,
            "tariff_version_id": str(offer.tariff_version_id),
            "tariff_version": offer.tariff_version,
            "calculation_id": str(data.calculation_id),
        }
    return list(out.values())


async def create_from_engine(session: AsyncSession, *, rt: Runtime, data: QuoteCalculated) -> Quote | None:
    """The quote answering a pricing request (once per request; None when nothing was eligible)."""
    assert data.crm_request_id is not None
    existing = await repository.by_pricing_request(session, data.crm_request_id)
    if existing is not None:
        return existing
    offers = offers_of(data)
    if not offers or data.customer_id is None:
        return None
    selected = next(
        (o for o in offers if o["product_code"] == data.recommended_product_code),
        offers[0],
    )
    premium = Decimal(selected["premium"])
    quote = Quote(
        customer_id=data.customer_id,
        quote_number=await next_number(session, "QUO"),
        quote_type=data.line,
        coverage_details={"risk": {k: v for k, v in data.risk.items() if k != "line"}},
        base_premium=premium,
        discounts=[],
        surcharges=[],
        total_premium=premium,
        carrier_quotes=offers,
        selected_carrier=selected["carrier"],
        status=QuoteStatus.draft.value,
        valid_until=utcnow() + timedelta(days=rt.settings.quote_validity_days),
        attributes={
            "pricing": {
                "source": SOURCE,
                "request_id": str(data.crm_request_id),
                "calculation_id": str(data.calculation_id),
                "priced_on": data.priced_on.isoformat(),
            }
        },
        created_by=data.requested_by,
    )
    await repository.add(session, quote)
    await rt.outbox.publish(session, events.created(quote), key=str(quote.id))
    return quote


def pinned_tariff(offer: dict[str, Any] | None) -> dict[str, Any]:
    """What a policy keeps of the engine offer it was sold from (empty for hand-priced quotes)."""
    if not offer or "tariff_version_id" not in offer:
        return {}
    keys = ("product_code", "cover_level", "tariff_version_id", "tariff_version", "calculation_id")
    return {"pricing": {"source": SOURCE, **{k: offer[k] for k in keys}}}


async def risk_of_policy(session: AsyncSession, *, policy_id: uuid.UUID) -> dict[str, Any] | None:
    """The risk (in the engine's terms) an engine-priced quote sold a policy on; None otherwise."""
    quote = await repository.converted_into(session, policy_id)
    if quote is None or (quote.attributes or {}).get("pricing", {}).get("source") != SOURCE:
        return None
    risk = (quote.coverage_details or {}).get("risk")
    return dict(risk) if isinstance(risk, dict) and risk else None


async def request_renewal_pricing(
    session: AsyncSession,
    *,
    rt: Runtime,
    request_id: uuid.UUID,
    customer_id: uuid.UUID,
    line: str,
    risk: dict[str, Any],
    carrier: str,
    cover_level: str | None,
    renewal_date: date,
) -> QuotePricingRequested:
    """Ask the quote engine to price a policy's next term with the carrier's tariff in force on
    ``renewal_date`` (answered like every pricing request, naming ``request_id``)."""
    request = QuotePricingRequested.model_validate(
        {
            "request_id": request_id,
            "customer_id": customer_id,
            "quote_type": line,
            "risk": risk,
            "cover_levels": [cover_level] if cover_level else None,
            "carriers": [carrier],
            "notes": "automatic renewal",
            "requested_by": None,
            "requested_at": utcnow(),
            "effective_date": renewal_date,
            "purpose": "renewal",
        }
    )
    await rt.outbox.publish(session, request, key=str(customer_id))
    return request
