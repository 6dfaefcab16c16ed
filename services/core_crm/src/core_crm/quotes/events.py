"""The quote events' payloads, built from a row."""

from __future__ import annotations

from aintech_contracts.events.crm import CarrierOffer, QuoteConverted, QuoteCreated
from core_crm.policies.models import Policy
from core_crm.quotes.models import Quote


def created(quote: Quote) -> QuoteCreated:
    offers = [
        CarrierOffer(
            carrier=c["carrier"],
            premium=c["premium"],
            coverage_amount=c.get("coverage_amount"),
            deductible=c.get("deductible"),
        )
        for c in quote.carrier_quotes
    ]
    best = min(offers, key=lambda o: o.premium).carrier if offers else None
    return QuoteCreated(
        quote_id=quote.id,
        quote_number=quote.quote_number,
        quote_type=quote.quote_type,
        customer_id=quote.customer_id,
        status=quote.status,
        base_premium=quote.base_premium,
        total_premium=quote.total_premium,
        valid_until=quote.valid_until,
        carriers=offers,
        best_carrier=best,
    )


def converted(quote: Quote, policy: Policy) -> QuoteConverted:
    assert quote.converted_at is not None
    return QuoteConverted(
        quote_id=quote.id,
        quote_number=quote.quote_number,
        customer_id=quote.customer_id,
        policy_id=policy.id,
        policy_number=policy.policy_number,
        carrier=policy.carrier,
        total_premium=quote.total_premium,
        converted_at=quote.converted_at,
    )
