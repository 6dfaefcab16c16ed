"""Payloads of the events about stored quotes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter

from aintech_contracts.events.crm import QuotePricingRequested
from aintech_contracts.events.quotes import PricedOffer, QuoteCalculated, QuotePricingFailed
from quote_engine.quotes.models import Calculation

_set = object.__setattr__
_OFFER_FIELDS = frozenset(PricedOffer.model_fields)


def _offer(offer: Any) -> PricedOffer:
    """An offer (an ``OfferOut``, or a comparison's rated offer with the same attributes) as the
    event carries it. Built from our own typed figures without validating them again: every field
    set at once, as ``model_construct`` would set them without its per-field walk (a comparison
    publishes 80); the envelope serialises it as a validated one."""
    values = {
        "product_code": offer.product_code,
        "carrier": offer.carrier,
        "cover_level": offer.cover.code,
        "cover_name": offer.cover.name,
        "deductible": offer.cover.deductible,
        "rank": getattr(offer, "rank", None),
        "tariff_version_id": offer.tariff.tariff_version_id,
        "tariff_version": offer.tariff.version,
        "net_premium": offer.net_premium,
        "total": offer.total,
        "eligible": offer.eligible,
    }
    out = PricedOffer.__new__(PricedOffer)
    _set(out, "__dict__", values)
    _set(out, "__pydantic_fields_set__", set(_OFFER_FIELDS))
    _set(out, "__pydantic_extra__", None)
    _set(out, "__pydantic_private__", None)
    return out


def calculated(
    row: Calculation, offers: Sequence[Any], recommended: tuple[str, str] | None = None
) -> QuoteCalculated:
    return QuoteCalculated(
        calculation_id=row.id,
        kind=row.kind,
        line=row.line,
        priced_on=row.priced_on,
        customer_id=row.customer_id,
        risk=row.request.get("risk", {}),
        requested_by=row.created_by,
        offers=[_offer(o) for o in offers],
        recommended_product_code=recommended[0] if recommended else None,
        recommended_cover_level=recommended[1] if recommended else None,
        crm_request_id=row.crm_request_id,
        created_at=row.created_at,
    )


_DATETIME = TypeAdapter(datetime)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def calculated_json(
    row: Calculation, offers: Sequence[Any], recommended: tuple[str, str] | None = None
) -> bytes:
    """The JSON of :func:`calculated`'s payload, written straight from our own figures (a
    comparison publishes 80 offers): the same members in the same order as pydantic serialises
    ``QuoteCalculated`` — money and ids as strings, the instant as pydantic writes it —
    (``test_compare_event_json`` holds the two to each other), without a model per offer."""
    return orjson.dumps(
        {
            "calculation_id": str(row.id),
            "kind": row.kind,
            "line": row.line,
            "priced_on": row.priced_on.isoformat(),
            "customer_id": _text(row.customer_id),
            "risk": row.request.get("risk", {}),
            "requested_by": _text(row.created_by),
            "offers": [
                {
                    "product_code": o.product_code,
                    "carrier": o.carrier,
                    "cover_level": o.cover.code,
                    "cover_name": o.cover.name,
                    "deductible": _text(o.cover.deductible),
                    "rank": getattr(o, "rank", None),
                    "tariff_version_id": str(o.tariff.tariff_version_id),
                    "tariff_version": o.tariff.version,
                    "net_premium": _text(o.net_premium),
                    "total": _text(o.total),
                    "eligible": o.eligible,
                }
                for o in offers
            ],
            "recommended_product_code": recommended[0] if recommended else None,
            "recommended_cover_level": recommended[1] if recommended else None,
            "crm_request_id": _text(row.crm_request_id),
            "created_at": _DATETIME.dump_python(row.created_at, mode="json"),
        }
    )


def pricing_failed(data: QuotePricingRequested, reason: str) -> QuotePricingFailed:
    return QuotePricingFailed(
        crm_request_id=data.request_id,
        customer_id=data.customer_id,
        requested_by=data.requested_by,
        reason=reason,
    )
