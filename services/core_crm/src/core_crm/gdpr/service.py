"""The GDPR rights over a customer's data: access and portability (export, art. 15 and 20) and
erasure (anonymisation, art. 17), keeping what insurance and tax law require (docs/crm.md)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict
from core_crm.claims import service as claims
from core_crm.core.base import utcnow
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers import events as customer_events
from core_crm.customers import repository as customer_rows
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.customers.models import Customer, CustomerStatus
from core_crm.gdpr import repository
from core_crm.interactions import service as interactions
from core_crm.policies import service as policies
from core_crm.profile import repository as profile_rows
from core_crm.quotes import service as quotes
from core_crm.tasks import service as tasks
from core_crm.trail import service as trail


def _dump(model: type[BaseModel], rows: Any) -> list[dict[str, Any]]:
    return [model.model_validate(r).model_dump(mode="json") for r in rows]


async def export_customer(session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID) -> dict[str, Any]:
    """Everything the CRM holds about a person (GDPR art. 15 and 20), as JSON. The export is audited."""
    from core_crm.claims.schemas import ClaimOut, DocumentOut, HistoryOut, NoteOut
    from core_crm.customers.schemas import CustomerOut
    from core_crm.interactions.schemas import InteractionOut
    from core_crm.policies.schemas import PolicyOut, TermOut
    from core_crm.quotes.schemas import QuoteOut
    from core_crm.tasks.schemas import TaskOut
    from core_crm.trail.schemas import ChangeOut

    customer = await customers.get_customer(session, viewer=viewer, customer_id=customer_id)
    policy_rows = await policies.policies_of(session, customer_id=customer.id)
    claim_rows = await claims.claims_of(session, customer_id=customer.id)
    out_claims = []
    for claim in claim_rows:
        entry = ClaimOut.model_validate(claim).model_dump(mode="json")
        entry["history"] = _dump(
            HistoryOut, await claims.claim_history(session, viewer=viewer, claim_id=claim.id)
        )
        entry["notes"] = _dump(NoteOut, await claims.claim_notes(session, viewer=viewer, claim_id=claim.id))
        entry["documents"] = _dump(
            DocumentOut, await claims.claim_documents(session, viewer=viewer, claim_id=claim.id)
        )
        out_claims.append(entry)
    out_policies = []
    for policy in policy_rows:
        entry = PolicyOut.model_validate(policy).model_dump(mode="json")
        entry["terms"] = _dump(
            TermOut, await policies.policy_terms(session, viewer=viewer, policy_id=policy.id)
        )
        out_policies.append(entry)
    document = {
        "exported_at": utcnow().isoformat(),
        "controller": "AINTECH insurance brokerage",
        "customer": CustomerOut.model_validate(customer).model_dump(mode="json"),
        "policies": out_policies,
        "claims": out_claims,
        "quotes": _dump(QuoteOut, await quotes.quotes_of(session, customer_id=customer.id)),
        "interactions": _dump(
            InteractionOut, await interactions.interactions_of(session, customer_id=customer.id)
        ),
        "tasks": _dump(TaskOut, await tasks.tasks_of(session, customer_id=customer.id))
        if viewer.is_staff
        else [],
        "history": [
            ChangeOut.model_validate(c).model_dump(mode="json")
            for c in await trail.customer_history(session, viewer=viewer, customer_id=customer.id)
        ],
        "audit": [
            {
                "action": a.action,
                "actor_id": str(a.actor_id) if a.actor_id else None,
                "details": a.details,
                "occurred_at": a.occurred_at.isoformat(),
            }
            for a in await customer_rows.audit_trail(session, customer.id)
        ],
    }
    await customer_rows.audit(
        session,
        customer_id=customer.id,
        action="exported",
        actor_id=viewer.actor_id,
        details={"by_customer": not viewer.is_staff},
    )
    return document


async def erase_customer(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    customer_id: uuid.UUID,
    expected_version: int | None,
) -> Customer:
    """Anonymise a person (GDPR art. 17), keeping what insurance and tax law require. See docs/crm.md."""
    customer = await customers.get_for_update(session, viewer=viewer, customer_id=customer_id)
    check_version(customer.version, expected_version)
    active_policies, open_claims = await profile_rows.has_live_business(session, customer.id)
    if active_policies or open_claims:
        raise Conflict(
            "The customer still has active or pending policies or open claims; the contract is the legal "
            "basis to keep their data. Cancel or let them end, close the claims, then erase.",
            active_policies=active_policies,
            open_claims=open_claims,
        )
    cleared: dict[str, Any] = {
        "first_name": "Cliente",
        "last_name": "Suprimido",
        "email": None,
        "phone": None,
        "mobile": None,
        "dni": None,
        "birth_date": None,
        "address_line1": None,
        "address_line2": None,
        "city": None,
        "postal_code": None,
        "iban": None,
        "notes": None,
        "lead_source": None,
        "preferred_channel": None,
        "user_id": None,
        "tags": [],
        "attributes": {},
    }
    if customer.customer_type == "individual":
        cleared.update({"company_name": None, "tax_id": None})
    for key, value in cleared.items():
        setattr(customer, key, value)
    customer.status = CustomerStatus.erased.value
    customer.erased_at = utcnow()
    customer.search_text = ""
    customer.version += 1
    customer.updated_at = utcnow()
    customer.updated_by = viewer.actor_id
    await customer_rows.flush(session)
    activity = await repository.anonymise_activity(session, customer.id)
    activity["history"] = await trail.redact_customer(session, customer_id=customer.id)
    await customer_rows.audit(
        session,
        customer_id=customer.id,
        action="erased",
        actor_id=viewer.actor_id,
        details={"anonymised": activity},
    )
    await rt.outbox.publish(
        session, customer_events.deleted(customer.id, reason="erased"), key=str(customer.id)
    )
    return customer
