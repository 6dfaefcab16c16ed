"""The customer as a whole: 360 figures, lifetime value, segmentation rules, merge and deletion.

The GDPR export and erasure are in ``core_crm.gdpr``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, UnprocessableEntity
from core_crm.core.base import today, utcnow
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers import events as customer_events
from core_crm.customers import repository as customer_rows
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.customers.models import CLOSED_STATUSES, Customer, CustomerSegment, CustomerStatus
from core_crm.profile import repository

CENT = Decimal("0.01")

# Segmentation thresholds (annualised premium of active policies, in euros).
VIP_PREMIUM = Decimal("3000")
PREMIUM_PREMIUM = Decimal("1200")
AT_RISK_CLAIMS_3Y = 3

# Fields a merge copies from the duplicate when the survivor has none.
FILLABLE = (
    "email",
    "phone",
    "mobile",
    "dni",
    "birth_date",
    "address_line1",
    "address_line2",
    "city",
    "province",
    "postal_code",
    "company_name",
    "tax_id",
    "iban",
    "lead_source",
    "preferred_channel",
    "owner_id",
)


@dataclass(frozen=True)
class Figures:
    tenure_years: Decimal
    policies: dict[str, Any]
    claims: dict[str, Any]
    other: dict[str, Any]


async def _figures(session: AsyncSession, customer: Customer) -> Figures:
    now = utcnow()
    tenure = Decimal((today() - customer.customer_since).days) / Decimal("365.25")
    return Figures(
        tenure_years=tenure.quantize(CENT, ROUND_HALF_UP),
        policies=await repository.policy_figures(session, customer.id),
        claims=await repository.claim_figures(session, customer.id, since=now - timedelta(days=3 * 365)),
        other=await repository.other_figures(session, customer.id),
    )


def suggest_segment(customer: Customer, figures: Figures) -> tuple[str, list[str]]:
    """The segment the rules give, with the reasons (documented in docs/crm.md)."""
    pol, clm = figures.policies, figures.claims
    premium = pol["annual_premium"]
    if pol["ever_in_force"] == 0:
        return CustomerSegment.prospect.value, ["no policy yet"]
    if clm["recent"] >= AT_RISK_CLAIMS_3Y:
        return CustomerSegment.at_risk.value, [f"{clm['recent']} claims in the last 3 years"]
    if pol["active"] == 0:
        return CustomerSegment.at_risk.value, ["no active policy left"]
    if premium >= VIP_PREMIUM:
        return CustomerSegment.vip.value, [f"annual premium {premium} ≥ {VIP_PREMIUM}"]
    if pol["active"] >= 4 and figures.tenure_years >= 5:
        return CustomerSegment.vip.value, [
            f"{pol['active']} active policies over {figures.tenure_years} years"
        ]
    if premium >= PREMIUM_PREMIUM:
        return CustomerSegment.premium.value, [f"annual premium {premium} ≥ {PREMIUM_PREMIUM}"]
    if pol["active"] >= 2:
        return CustomerSegment.premium.value, [f"{pol['active']} active policies"]
    if figures.tenure_years < 1:
        return CustomerSegment.new.value, ["customer for less than a year"]
    return CustomerSegment.standard.value, ["one active policy"]


# How many more years a customer of a segment is expected to stay (retention assumption).
EXPECTED_REMAINING_YEARS: dict[str, Decimal] = {
    CustomerSegment.vip: Decimal(6),
    CustomerSegment.premium: Decimal(5),
    CustomerSegment.standard: Decimal(4),
    CustomerSegment.new: Decimal(3),
}


def expected_remaining_years(segment: str) -> Decimal:
    """How many more years a customer of a segment is expected to stay (retention assumption)."""
    return EXPECTED_REMAINING_YEARS.get(segment, Decimal(1))


async def lifetime(session: AsyncSession, customer: Customer, figures: Figures) -> dict[str, Decimal]:
    earned = await repository.premium_earned(session, customer.id, today=today())
    segment, _ = suggest_segment(customer, figures)
    years = expected_remaining_years(segment)
    projected = figures.policies["annual_premium"] * years
    value = earned - figures.claims["paid"] + projected
    return {
        "premium_earned": earned.quantize(CENT, ROUND_HALF_UP),
        "claims_paid": figures.claims["paid"].quantize(CENT),
        "projected_premium": projected.quantize(CENT, ROUND_HALF_UP),
        "expected_remaining_years": years,
        "lifetime_value": value.quantize(CENT, ROUND_HALF_UP),
    }


async def customer_stats(session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID) -> dict[str, Any]:
    """Policies, premium, claims, quotes, contacts, tasks and lifetime value of one customer."""
    customer = await customers.get_customer(session, viewer=viewer, customer_id=customer_id)
    figures = await _figures(session, customer)
    suggested, _ = suggest_segment(customer, figures)
    value = await lifetime(session, customer, figures)
    return {
        "customer_id": customer.id,
        "segment": customer.segment,
        "suggested_segment": suggested,
        "tenure_years": figures.tenure_years,
        "policies_total": figures.policies["total"],
        "policies_active": figures.policies["active"],
        "policies_by_type": figures.policies["by_type"],
        "annual_premium": figures.policies["annual_premium"].quantize(CENT),
        "claims_total": figures.claims["total"],
        "claims_open": figures.claims["open"],
        "claims_last_3_years": figures.claims["recent"],
        "claimed_amount": figures.claims["claimed"].quantize(CENT),
        "paid_amount": figures.claims["paid"].quantize(CENT),
        "quotes_total": figures.other["quotes"],
        "quotes_converted": figures.other["quotes_converted"],
        "interactions_total": figures.other["interactions"],
        "last_interaction_at": figures.other["last_interaction_at"],
        "open_tasks": figures.other["open_tasks"],
        "lifetime_value": value["lifetime_value"],
    }


async def lifetime_value(session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID) -> dict[str, Any]:
    """Premium earned so far − claims paid + projected premium for the expected remaining years."""
    customer = await customers.get_customer(session, viewer=viewer, customer_id=customer_id)
    return {
        "customer_id": customer.id,
        **await lifetime(session, customer, await _figures(session, customer)),
    }


async def resegment(
    session: AsyncSession,
    *,
    rt: Runtime,
    customer_id: uuid.UUID,
    actor_id: uuid.UUID | None = None,
    wait: bool = True,
) -> tuple[Customer, str | None, list[str]] | None:
    """Apply the segmentation rules; publishes `customer.updated` when the segment changes.

    ``wait=False`` (the consumers): fail at once when the customer's row is locked rather than wait
    for it. A consumer's transaction may already hold other rows (a policy, an earlier event's
    customer) that the lock holder, often a request, is about to need: waiting would deadlock.
    Failing rolls the consumer back, the request goes on, and the consumer's retry resegments."""
    customer = await customer_rows.get(session, customer_id, for_update=True, nowait=not wait)
    if customer is None or customer.status in CLOSED_STATUSES:
        return None
    segment, reasons = suggest_segment(customer, await _figures(session, customer))
    previous = customer.segment
    if segment != previous:
        customer.segment = segment
        customer.version += 1
        customer.updated_at = utcnow()
        await customer_rows.flush(session)
        await customer_rows.audit(
            session,
            customer_id=customer.id,
            action="segmented",
            actor_id=actor_id,
            details={"from": previous, "to": segment, "reasons": reasons},
        )
        await customer_events.publish_updated(session, rt, customer, ["segment"])
    return customer, previous, reasons


async def resegment_one(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, customer_id: uuid.UUID
) -> tuple[Customer, str | None, list[str]]:
    """Re-run the rules for one customer on request."""
    await customers.get_for_update(session, viewer=viewer, customer_id=customer_id)
    result = await resegment(session, rt=rt, customer_id=customer_id, actor_id=viewer.actor_id)
    assert result is not None
    return result


async def resegment_all(session: AsyncSession, *, rt: Runtime, batch: int = 500) -> int:
    """Re-run the rules for every live customer (the nightly job); returns how many changed."""
    changed = 0
    after: uuid.UUID | None = None
    while True:
        ids = await customer_rows.all_live_ids(session, after=after, limit=batch)
        for customer_id in ids:
            result = await resegment(session, rt=rt, customer_id=customer_id)
            if result is not None and result[0].segment != result[1]:
                changed += 1
        if len(ids) < batch:
            return changed
        after = ids[-1]


async def merge_customers(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    survivor_id: uuid.UUID,
    duplicate_id: uuid.UUID,
    expected_version: int | None = None,
) -> tuple[Customer, dict[str, int], list[str]]:
    """Fold a duplicate into a survivor in one transaction: records move, gaps are filled, both audited."""
    if survivor_id == duplicate_id:
        raise UnprocessableEntity(
            "A customer cannot be merged into itself.",
            errors=[
                {
                    "location": "body",
                    "field": "duplicate_id",
                    "message": "same as the survivor",
                    "type": "value_error",
                }
            ],
        )
    locked = await customer_rows.lock_many(session, [survivor_id, duplicate_id])
    survivor = customers.ensure_visible(viewer, locked.get(survivor_id))
    check_version(survivor.version, expected_version)
    duplicate = locked.get(duplicate_id)
    if duplicate is None:
        raise UnprocessableEntity(
            "No such duplicate customer.",
            errors=[
                {
                    "location": "body",
                    "field": "duplicate_id",
                    "message": "no such customer",
                    "type": "value_error",
                }
            ],
        )
    for row in (survivor, duplicate):
        if row.status in CLOSED_STATUSES:
            raise Conflict(f"Customer {row.id} is {row.status}; only live customers can be merged.")
    moved = await repository.move_records(session, source=duplicate.id, target=survivor.id)
    snapshot = {f: getattr(duplicate, f) for f in FILLABLE}
    linked_user = duplicate.user_id
    duplicate.status = CustomerStatus.merged.value
    duplicate.merged_into = survivor.id
    duplicate.user_id = None
    duplicate.version += 1
    duplicate.updated_at = utcnow()
    duplicate.updated_by = viewer.actor_id
    await customer_rows.flush(session)
    filled = [f for f in FILLABLE if getattr(survivor, f) in (None, "") and snapshot[f] not in (None, "")]
    for field in filled:
        setattr(survivor, field, snapshot[field])
    if survivor.user_id is None and linked_user is not None:
        survivor.user_id = linked_user
        filled.append("user_id")
    new_tags = sorted(set(survivor.tags) | set(duplicate.tags))
    if new_tags != sorted(survivor.tags):
        survivor.tags = new_tags
        filled.append("tags")
    if duplicate.notes:
        survivor.notes = "\n\n".join(n for n in (survivor.notes, duplicate.notes) if n)
    if duplicate.customer_since < survivor.customer_since:
        survivor.customer_since = duplicate.customer_since
    survivor.search_text = customers.search_text(survivor)
    survivor.version += 1
    survivor.updated_at = utcnow()
    survivor.updated_by = viewer.actor_id
    await customer_rows.flush(session)
    details = {"survivor": str(survivor.id), "duplicate": str(duplicate.id), "moved": moved, "filled": filled}
    for row in (survivor, duplicate):
        await customer_rows.audit(
            session, customer_id=row.id, action="merged", actor_id=viewer.actor_id, details=details
        )
    await customer_events.publish_updated(session, rt, survivor, ["merged", *filled])
    await rt.outbox.publish(
        session,
        customer_events.deleted(duplicate.id, reason="merged", merged_into=survivor.id),
        key=str(duplicate.id),
    )
    await resegment(session, rt=rt, customer_id=survivor.id, actor_id=viewer.actor_id)
    return survivor, moved, filled


async def delete_customer(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    customer_id: uuid.UUID,
    expected_version: int | None,
) -> None:
    """Withdraw a customer from the working set (kept for the record); refused while business is live."""
    customer = await customers.get_for_update(session, viewer=viewer, customer_id=customer_id)
    check_version(customer.version, expected_version)
    active_policies, open_claims = await repository.has_live_business(session, customer.id)
    if active_policies or open_claims:
        raise Conflict(
            "The customer has active or pending policies or open claims.",
            active_policies=active_policies,
            open_claims=open_claims,
        )
    customer.status = CustomerStatus.deleted.value
    customer.deleted_at = utcnow()
    customer.version += 1
    customer.updated_at = utcnow()
    customer.updated_by = viewer.actor_id
    await customer_rows.flush(session)
    await customer_rows.audit(
        session, customer_id=customer.id, action="deleted", actor_id=viewer.actor_id, details={}
    )
    await rt.outbox.publish(
        session, customer_events.deleted(customer.id, reason="deleted"), key=str(customer.id)
    )
