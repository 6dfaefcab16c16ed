"""Handlers of the CRM's events that keep the read model current (routed in ``telephony.consumers``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import (
    ClaimApproved,
    ClaimCreated,
    ClaimDenied,
    ClaimPaid,
    ClaimUpdated,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
)
from aintech_contracts.statuses import FINAL_CLAIM_STATUSES, ClaimStatus
from aintech_shared.phones import to_e164
from telephony.customers import repository


def _customer_values(data: CustomerCreated | CustomerUpdated) -> dict[str, object]:
    return {
        "customer_id": data.customer_id,
        "first_name": data.first_name[:100],
        "last_name": data.last_name[:100],
        "company_name": (data.company_name or None) and data.company_name[:200],
        "phone": to_e164(data.phone) if data.phone else None,
        "mobile": to_e164(data.mobile) if data.mobile else None,
        "email": (data.email or None) and data.email[:255],
        "segment": (data.segment or None) and data.segment[:50].lower(),
        "preferred_language": data.preferred_language[:10],
        "status": data.status[:30],
        "user_id": data.user_id,
    }


async def customer_created(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(CustomerCreated)
    await repository.upsert(session, _customer_values(data), version=0)


async def customer_updated(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(CustomerUpdated)
    await repository.upsert(session, _customer_values(data), version=data.version)


async def customers_created(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """A run of creations in one statement (the same rows as :func:`customer_created` each)."""
    rows = [(_customer_values(event.data_as(CustomerCreated)), 0) for event in events]
    await repository.upsert_many(session, rows)


async def customers_updated(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """A run of updates in one statement (the same rows as :func:`customer_updated` each)."""
    updates = [event.data_as(CustomerUpdated) for event in events]
    await repository.upsert_many(session, [(_customer_values(data), data.version) for data in updates])


async def customer_deleted(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(CustomerDeleted)
    if data.reason == "merged" and data.merged_into is not None:
        await repository.move_claims(session, source=data.customer_id, target=data.merged_into)
    await repository.delete_customer(session, data.customer_id)


async def claim_created(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(ClaimCreated)
    await repository.open_claim(
        session,
        claim_id=data.claim_id,
        customer_id=data.customer_id,
        number=data.claim_number,
        status=data.status,
    )


async def claim_updated(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(ClaimUpdated)
    if data.status in FINAL_CLAIM_STATUSES:
        await repository.close_claim(session, claim_id=data.claim_id)
        return
    await repository.open_claim(
        session,
        claim_id=data.claim_id,
        customer_id=data.customer_id,
        number=data.claim_number,
        status=data.status,
    )


async def claim_approved(session: AsyncSession, event: CloudEvent) -> None:
    """Approved but not yet paid: still open (callers often ask about the payment)."""
    data = event.data_as(ClaimApproved)
    await repository.open_claim(
        session,
        claim_id=data.claim_id,
        customer_id=data.customer_id,
        number=data.claim_number,
        status=ClaimStatus.approved,
    )


async def claim_finished(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(ClaimDenied) if event.type == ClaimDenied.event_type else event.data_as(ClaimPaid)
    await repository.close_claim(session, claim_id=data.claim_id)
