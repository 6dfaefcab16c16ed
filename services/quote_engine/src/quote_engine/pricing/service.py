"""Dynamic pricing: the broker's recommended discount, inside each carrier's commission band.

weight = churn risk × (0.5 + 0.5 × customer value); discount = band minimum + (band maximum −
band minimum) × weight, to a tenth of a percent. The discount is given up from commission and
applied as one more discount line of the pinned tariff, so taxes follow and the lines still sum to
the total. The churn risk is the request's, else the customer's latest score from analytics
(`customer.churn_scored`, kept by the churn consumer), else 0: no discount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict
from quote_engine.churn import service as churn_scores
from quote_engine.pricing.schemas import DynamicOffer, DynamicPricingOut, DynamicPricingRequest
from quote_engine.quotes import service as quotes
from quote_engine.quotes.schemas import CalculateRequest, CalculationOut, CompareRequest, OfferOut
from quote_engine.rating.engine import Priced, rate
from quote_engine.rating.tariff import Adjustment
from quote_engine.tariffs import service as tariffs

TENTH = Decimal("0.1")


def weight(churn_risk: Decimal, customer_value: Decimal) -> Decimal:
    return churn_risk * (Decimal("0.5") + Decimal("0.5") * customer_value)


async def recommend(session: AsyncSession, *, data: DynamicPricingRequest) -> DynamicPricingOut:
    """For each eligible offer of a stored quote: the recommended discount and the new total."""
    stored = await quotes.get(session, calculation_id=data.calculation_id, explain=False)
    if isinstance(stored, CalculationOut):
        offers: list[OfferOut] = [stored.offer]
        request: CalculateRequest | CompareRequest = CalculateRequest.model_validate(stored.request)
    else:
        offers = list(stored.offers)
        request = CompareRequest.model_validate(stored.request)
    risk = request.risk.fields()
    signals, churn_signal = "neutral", data.churn_risk
    if churn_signal is not None:
        signals = "given"
    elif request.customer_id is not None:
        churn_signal = await churn_scores.latest_risk(session, customer_id=request.customer_id)
        signals = "analytics" if churn_signal is not None else "neutral"
    churn = churn_signal if churn_signal is not None else Decimal(0)
    value = data.customer_value if data.customer_value is not None else Decimal("0.5")
    w = weight(churn, value)
    taxes = await tariffs.receipt_taxes(session)
    out = []
    for offer in offers:
        if not offer.eligible or offer.total is None:
            continue
        version, _ = await tariffs.get_version(session, offer.tariff.tariff_version_id)
        definition = tariffs.definition_of(version)
        low, high = definition.commission_band
        percent = (low + (high - low) * w).quantize(TENTH, ROUND_HALF_UP)
        total = offer.total
        if percent > 0:
            discounted = definition.model_copy(
                update={
                    "adjustments": (
                        *definition.adjustments,
                        Adjustment(code="broker_discount", kind="discount", percent=percent),
                    )
                }
            )
            result = rate(discounted, offer.cover.code, risk, taxes=taxes, on=stored.priced_on)
            if not isinstance(result, Priced):  # eligibility does not depend on a discount
                raise Conflict("The offer is no longer eligible under its tariff.")
            total = result.total
        why = (
            f"{percent} % of the {offer.carrier} band [{low} %, {high} %]: churn risk {churn}, customer "
            f"value {value} (weight {w.quantize(Decimal('0.0001'))})"
            + {
                "given": "",
                "analytics": " (churn risk from analytics' latest score)",
                "neutral": "; no churn signal yet, so no discount is recommended",
            }[signals]
        )
        out.append(
            DynamicOffer(
                product_code=offer.product_code,
                carrier=offer.carrier,
                cover_level=offer.cover.code,
                tariff_version=offer.tariff.version,
                commission_band=(low, high),
                recommended_discount_percent=percent,
                total_before=offer.total,
                total_after=total,
                saving=offer.total - total,
                why=why,
            )
        )
    return DynamicPricingOut(
        calculation_id=data.calculation_id,
        churn_risk=churn,
        customer_value=value,
        signals=signals,
        offers=out,
    )
