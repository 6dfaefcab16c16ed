"""OptiMax: advice from the read model of a customer's policies (CRM events) and their quotes.

* **bundle** — one live policy only: a second line with the broker unlocks the multi-policy
  discount (5 % in the illustrative tariffs) on the first at its renewal.
* **coverage_gap** — a car insured but no home; a home insured but no life cover.
* **cheaper_at_renewal** — a live policy ending within 90 days whose line the customer has a
  recent comparison for: the broadest offer that still costs less than today's premium.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import PolicyCreated, PolicyRenewed
from quote_engine.core.base import today
from quote_engine.optimax import repository
from quote_engine.optimax.models import CustomerPolicy
from quote_engine.optimax.schemas import Advice, CustomerAdvice, PortfolioOut
from quote_engine.quotes import service as quotes

PAYMENTS_PER_YEAR = {"monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}
MULTI_POLICY_DISCOUNT = Decimal("0.05")
RENEWAL_WINDOW = timedelta(days=90)
ENDED = ("cancelled", "expired")
CENT = Decimal("0.01")


async def record_policy(session: AsyncSession, *, data: PolicyCreated | PolicyRenewed) -> None:
    """Keep the policy's latest term in the read model."""
    await repository.upsert(
        session,
        {
            "policy_id": data.policy_id,
            "customer_id": data.customer_id,
            "policy_number": data.policy_number,
            "policy_type": data.policy_type,
            "carrier": data.carrier,
            "status": data.status,
            "annual_premium": data.premium_amount * PAYMENTS_PER_YEAR.get(data.premium_frequency, 1),
            "coverage_amount": data.coverage_amount,
            "coverage_end_date": data.coverage_end_date,
        },
    )


async def record_cancelled(session: AsyncSession, *, policy_id: uuid.UUID) -> None:
    await repository.set_status(session, policy_id, "cancelled")


async def advise(session: AsyncSession, *, customer_id: uuid.UUID, on: date | None = None) -> CustomerAdvice:
    """Every recommendation for one customer, with the saving and the reason."""
    on = on or today()
    live = [p for p in await repository.of_customer(session, customer_id) if p.status not in ENDED]
    advice: list[Advice] = []
    lines = {p.policy_type for p in live}
    if len(live) == 1:
        only = live[0]
        saving = (only.annual_premium * MULTI_POLICY_DISCOUNT).quantize(CENT)
        advice.append(
            Advice(
                kind="bundle",
                title=f"Add a second policy to unlock the multi-policy discount on {only.policy_number}",
                saving=saving,
                reason=f"The customer holds one policy ({only.carrier}, {only.policy_type}, "
                f"{only.annual_premium} €/year); holding two lines with the broker gives "
                f"{MULTI_POLICY_DISCOUNT * 100:.0f} % off at its renewal.",
                policy_ids=[only.policy_id],
            )
        )
    if "auto" in lines and "home" not in lines:
        advice.append(
            Advice(
                kind="coverage_gap",
                title="No home insurance",
                saving=Decimal("0.00"),
                reason="The customer insures a vehicle with the broker but no home (building or contents).",
            )
        )
    if "home" in lines and "life" not in lines:
        advice.append(
            Advice(
                kind="coverage_gap",
                title="No life cover",
                saving=Decimal("0.00"),
                reason="The customer insures a home but holds no life policy (a mortgage usually needs one).",
            )
        )
    for policy in live:
        if policy.coverage_end_date - on > RENEWAL_WINDOW or policy.coverage_end_date < on:
            continue
        cheaper = await _cheaper(session, policy)
        if cheaper is not None:
            advice.append(cheaper)
    total = sum((p.annual_premium for p in live), Decimal(0))
    return CustomerAdvice(
        customer_id=customer_id,
        live_policies=len(live),
        annual_premium=total,
        potential_saving=sum((a.saving for a in advice), Decimal(0)),
        recommendations=advice,
    )


async def _cheaper(session: AsyncSession, policy: CustomerPolicy) -> Advice | None:
    comparison = await quotes.latest_comparison(
        session, customer_id=policy.customer_id, line=policy.policy_type
    )
    if comparison is None:
        return None
    cheaper = [o for o in comparison.offers if o.total is not None and o.total < policy.annual_premium]
    if not cheaper:
        return None
    best = max(cheaper, key=lambda o: (o.cover.rank, -(o.total or Decimal(0))))
    assert best.total is not None
    return Advice(
        kind="cheaper_at_renewal",
        title=f"{best.carrier} {best.cover.name} at renewal of {policy.policy_number}",
        saving=policy.annual_premium - best.total,
        reason=f"{policy.policy_number} ({policy.carrier}) renews on {policy.coverage_end_date} at "
        f"{policy.annual_premium} €/year; the comparison of {comparison.priced_on} prices {best.carrier} "
        f"{best.cover.name} ({len(best.cover.covers)} guarantees, {best.cover.deductible} € deductible) "
        f"at {best.total} €.",
        policy_ids=[policy.policy_id],
    )


async def portfolio(session: AsyncSession, *, customer_ids: list[uuid.UUID]) -> PortfolioOut:
    """The advice for several customers, with the totals."""
    customers = [await advise(session, customer_id=c) for c in dict.fromkeys(customer_ids)]
    return PortfolioOut(
        customers=customers,
        annual_premium=sum((c.annual_premium for c in customers), Decimal(0)),
        potential_saving=sum((c.potential_saving for c in customers), Decimal(0)),
    )
