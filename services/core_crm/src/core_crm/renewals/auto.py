"""Automatic renewal of policies set to ``auto_renew`` (docs/crm.md, "Automatic renewal").

Three steps, each in one transaction, each safe to run again after a worker dies between them:

1. The daily job asks the quote engine to price the next term of each auto-renewing policy due
   within ``auto_renew_lead_days`` (`quote.pricing_requested`, the carrier's tariff in force at
   the renewal date). The request is written with an ``auto_renewals`` row unique per policy and
   term, so the policy is asked about once per term however often the job runs.
2. The engine's answer (`quote.calculated` / `quote.pricing_failed` naming the request) is
   recorded on that row: a rise above ``auto_renew_max_rise_percent`` or no price -> an agent
   task with the reason; otherwise the row is ``priced`` and waits for the due date. Only a
   ``requested`` row moves, so a redelivered answer changes nothing.
3. On the due date the job renews each ``priced`` row's policy (new term, new premium) and
   publishes `policy.renewed` (``automatic``: omnichannel tells the customer on their channel, in
   their language, with the WhatsApp template for renewals), the row becoming ``renewed`` in the
   same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.quotes import PricedOffer, QuoteCalculated, QuotePricingFailed
from aintech_contracts.statuses import TaskPriority
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.policies import service as policies
from core_crm.policies.models import PAYMENTS_PER_YEAR, Policy, PolicyStatus
from core_crm.quotes import pricing
from core_crm.renewals.models import AutoRenewal, AutoRenewalStatus
from core_crm.renewals.repository import AutoRenewalRepository
from core_crm.renewals.service import AUTO_RENEWAL_REVIEW
from core_crm.tasks import service as tasks
from core_crm.tasks.service import LOCAL_TZ

log = structlog.get_logger("crm.renewals.auto")

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def _at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=LOCAL_TZ)


async def request_due(session: AsyncSession, *, rt: Runtime, today: date, batch: int = 200) -> int:
    """Step 1: one pricing request per auto-renewing policy and term due within the lead days."""
    renewals = AutoRenewalRepository(session)
    until = today + timedelta(days=rt.settings.auto_renew_lead_days)
    asked = 0
    while True:
        rows = await renewals.policies_to_price(today=today, until=until, limit=batch)
        for policy in rows:
            await _ask(session, rt=rt, renewals=renewals, policy=policy)
        asked += len(rows)
        if len(rows) < batch:
            return asked


async def _ask(
    session: AsyncSession, *, rt: Runtime, renewals: AutoRenewalRepository, policy: Policy
) -> None:
    renewal = AutoRenewal(
        policy_id=policy.id,
        term_number=policy.term_number,
        due_date=policy.coverage_end_date,
        request_id=uuid.uuid4(),
        status=AutoRenewalStatus.requested.value,
        previous_annual_premium=policy.annual_premium,
    )
    renewals.add(renewal)
    await renewals.flush()
    risk = await pricing.risk_of_policy(session, policy_id=policy.id)
    if risk is None:
        await _to_agent(
            session,
            rt=rt,
            renewal=renewal,
            policy=policy,
            reason="la póliza no se tarificó con el motor de tarificación (no hay riesgo que volver a "
            "tarificar)",
        )
        return
    pinned = (policy.attributes or {}).get("pricing", {})
    await pricing.request_renewal_pricing(
        session,
        rt=rt,
        request_id=renewal.request_id,
        customer_id=policy.customer_id,
        line=policy.policy_type,
        risk=risk,
        carrier=policy.carrier,
        cover_level=pinned.get("cover_level"),
        renewal_date=policy.coverage_end_date,
    )
    log.info("auto_renewal_requested", policy_id=str(policy.id), term=policy.term_number)


def chosen_offer(data: QuoteCalculated, *, carrier: str, pinned: dict[str, Any]) -> PricedOffer | None:
    """The carrier's offer for the policy's product and cover level (else its best-ranked eligible one)."""
    eligible = [
        o
        for o in sorted(data.offers, key=lambda o: o.rank or 0)
        if o.eligible and o.total is not None and o.carrier.lower() == carrier.lower()
    ]
    for match in (
        lambda o: o.product_code == pinned.get("product_code") and o.cover_level == pinned.get("cover_level"),
        lambda o: o.cover_level == pinned.get("cover_level"),
        lambda o: True,
    ):
        found = next((o for o in eligible if match(o)), None)
        if found is not None:
            return found
    return None


def rise_percent(previous: Decimal, new: Decimal) -> Decimal:
    """How much the annual premium changes, in percent (two decimals; negative for a fall)."""
    return ((new - previous) * HUNDRED / previous).quantize(CENT, ROUND_HALF_UP)


async def on_priced(session: AsyncSession, *, rt: Runtime, data: QuoteCalculated) -> bool:
    """Step 2: the engine priced a renewal; False when the answer is not for an automatic renewal."""
    assert data.crm_request_id is not None
    renewals = AutoRenewalRepository(session)
    renewal = await renewals.by_request(request_id=data.crm_request_id, for_update=True)
    if renewal is None:
        return False
    if renewal.status != AutoRenewalStatus.requested:
        return True  # answered before
    policy = await policies.lock_for_automation(session, policy_id=renewal.policy_id)
    if policy is None or not _still_due(policy, renewal):
        _set(renewal, AutoRenewalStatus.withdrawn, reason="the policy changed before it was priced")
        return True
    offer = chosen_offer(data, carrier=policy.carrier, pinned=(policy.attributes or {}).get("pricing", {}))
    if offer is None or offer.total is None:
        await _to_agent(
            session,
            rt=rt,
            renewal=renewal,
            policy=policy,
            reason=f"el motor de tarificación no dio precio de {policy.carrier} para el nuevo periodo",
        )
        return True
    rise = rise_percent(renewal.previous_annual_premium, offer.total)
    renewal.new_annual_premium = offer.total
    renewal.rise_percent = rise
    renewal.offer = {
        "product_code": offer.product_code,
        "cover_level": offer.cover_level,
        "tariff_version_id": str(offer.tariff_version_id),
        "tariff_version": offer.tariff_version,
        "calculation_id": str(data.calculation_id),
        "priced_on": data.priced_on.isoformat(),
    }
    limit = rt.settings.auto_renew_max_rise_percent
    if rise > limit:
        await _to_agent(
            session,
            rt=rt,
            renewal=renewal,
            policy=policy,
            reason=f"la prima anual sube un {rise} % ({renewal.previous_annual_premium} € -> "
            f"{offer.total} €), por encima del {limit} % permitido",
        )
        return True
    _set(renewal, AutoRenewalStatus.priced)
    log.info("auto_renewal_priced", policy_id=str(policy.id), rise_percent=str(rise))
    return True


async def on_failed(session: AsyncSession, *, rt: Runtime, data: QuotePricingFailed) -> bool:
    """Step 2, no price: the agent gets a task; False when the refusal is not for an automatic renewal."""
    renewals = AutoRenewalRepository(session)
    renewal = await renewals.by_request(request_id=data.crm_request_id, for_update=True)
    if renewal is None:
        return False
    if renewal.status != AutoRenewalStatus.requested:
        return True
    policy = await policies.lock_for_automation(session, policy_id=renewal.policy_id)
    if policy is None or not _still_due(policy, renewal):
        _set(renewal, AutoRenewalStatus.withdrawn, reason="the policy changed before it was priced")
        return True
    await _to_agent(
        session,
        rt=rt,
        renewal=renewal,
        policy=policy,
        reason=f"el motor de tarificación no pudo tarificar la renovación: {data.reason}",
    )
    return True


async def renew_due(session: AsyncSession, *, rt: Runtime, today: date, batch: int = 200) -> int:
    """Step 3: renew each priced policy whose due date has come (the row and the policy together)."""
    renewals = AutoRenewalRepository(session)
    renewed = 0
    while True:
        rows = await renewals.due(today=today, limit=batch)
        for renewal in rows:
            renewed += await _renew(session, rt=rt, renewal=renewal)
        if len(rows) < batch:
            return renewed


async def _renew(session: AsyncSession, *, rt: Runtime, renewal: AutoRenewal) -> int:
    policy = await policies.lock_for_automation(session, policy_id=renewal.policy_id)
    if policy is None or not policy.auto_renew or not _still_due(policy, renewal, renewing=True):
        _set(
            renewal,
            AutoRenewalStatus.withdrawn,
            reason="renewed by hand, cancelled or no longer auto-renewing",
        )
        return 0
    assert renewal.new_annual_premium is not None and renewal.offer is not None
    premium = (renewal.new_annual_premium / PAYMENTS_PER_YEAR[policy.premium_frequency]).quantize(
        CENT, ROUND_HALF_UP
    )
    attributes = dict(policy.attributes or {})
    previous = attributes.get("pricing", {})
    attributes["pricing"] = {
        **previous,
        "source": pricing.SOURCE,
        **{
            k: renewal.offer[k]
            for k in ("product_code", "cover_level", "tariff_version_id", "tariff_version")
        },
        "calculation_id": renewal.offer["calculation_id"],
    }
    await policies.start_next_term(
        session,
        rt=rt,
        policy=policy,
        premium_amount=premium,
        coverage_end_date=None,
        coverage_amount=None,
        actor=None,
        automatic=True,
        attributes=attributes,
    )
    _set(renewal, AutoRenewalStatus.renewed)
    log.info("auto_renewed", policy_id=str(policy.id), term=policy.term_number, premium=str(premium))
    return 1


def _still_due(policy: Policy, renewal: AutoRenewal, *, renewing: bool = False) -> bool:
    """The policy is still in the term the renewal was priced for, and renewable."""
    statuses = (PolicyStatus.active, PolicyStatus.expired) if renewing else (PolicyStatus.active,)
    return policy.term_number == renewal.term_number and policy.status in statuses


def _set(renewal: AutoRenewal, status: AutoRenewalStatus, *, reason: str | None = None) -> None:
    renewal.status = status.value
    if reason is not None:
        renewal.reason = reason
    renewal.updated_at = utcnow()


async def _to_agent(
    session: AsyncSession, *, rt: Runtime, renewal: AutoRenewal, policy: Policy, reason: str
) -> None:
    """No automatic renewal: the customer's agent gets a task saying why (once per policy and term)."""
    customer = await customers.internal_get(session, customer_id=policy.customer_id)
    name = f"{customer.first_name} {customer.last_name}" if customer is not None else "el cliente"
    task = await tasks.create_task(
        session,
        rt=rt,
        title=f"Renovación automática no realizada: póliza {policy.policy_number} ({policy.carrier})",
        description=f"La póliza {policy.policy_type} de {name} vence el {renewal.due_date:%d/%m/%Y} y "
        f"está marcada para renovarse sola, pero no se ha renovado: {reason}. Revisar la renovación "
        "con el cliente.",
        task_type=AUTO_RENEWAL_REVIEW,
        priority=TaskPriority.high,
        assigned_to=customer.owner_id if customer is not None else None,
        customer_id=customer.id if customer is not None else None,
        policy_id=policy.id,
        due_date=_at_nine(utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=1)),
        created_by=None,
        dedupe_key=f"auto-renewal:{policy.id}:{renewal.due_date}",
    )
    renewal.task_id = task.id
    _set(renewal, AutoRenewalStatus.task, reason=reason)
    log.info("auto_renewal_to_agent", policy_id=str(policy.id), reason=reason)
