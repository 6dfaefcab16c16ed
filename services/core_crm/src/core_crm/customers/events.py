"""The customer events' payloads, built from a row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aintech_contracts import identifiers
from aintech_contracts.events.crm import CustomerCreated, CustomerDeleted, CustomerUpdated
from core_crm.core.base import utcnow
from core_crm.customers.models import Customer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core_crm.core.runtime import Runtime


def _fields(customer: Customer, key: bytes) -> dict[str, object]:
    return {
        "customer_id": customer.id,
        "customer_type": customer.customer_type,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "company_name": customer.company_name,
        "email": customer.email,
        "phone": customer.phone,
        "mobile": customer.mobile,
        "preferred_channel": customer.preferred_channel,
        "preferred_language": customer.preferred_language,
        "segment": customer.segment,
        "status": customer.status,
        "province": customer.province,
        "user_id": customer.user_id,
        # The identifiers travel as keyed digests, never in clear (``aintech_contracts.identifiers``).
        "dni_digest": identifiers.digest(customer.dni, key),
        "dni_last3": identifiers.last(customer.dni, 3),
        "iban_digest": identifiers.digest(customer.iban, key),
        "iban_last4": identifiers.last(customer.iban, 4),
        "address_line1": customer.address_line1,
        "postal_code": customer.postal_code,
        "city": customer.city,
    }


def created(customer: Customer, *, key: bytes) -> CustomerCreated:
    """``key``: the identifier digest key (``Settings.identifier_key``)."""
    return CustomerCreated(**_fields(customer, key), created_by=customer.created_by)


def updated(customer: Customer, changed: Iterable[str], *, key: bytes) -> CustomerUpdated:
    return CustomerUpdated(
        **_fields(customer, key),
        changed_fields=sorted(set(changed)),
        version=customer.version,
    )


async def publish_created(session: AsyncSession, rt: Runtime, customer: Customer) -> None:
    """``customer.created`` into the outbox, keyed by the customer, its identifiers digested."""
    await rt.outbox.publish(session, created(customer, key=rt.settings.identifier_key), key=str(customer.id))


async def publish_updated(
    session: AsyncSession, rt: Runtime, customer: Customer, changed: Iterable[str]
) -> None:
    """``customer.updated`` into the outbox, keyed by the customer, its identifiers digested."""
    await rt.outbox.publish(
        session, updated(customer, changed, key=rt.settings.identifier_key), key=str(customer.id)
    )


def deleted(customer_id: uuid.UUID, *, reason: str, merged_into: uuid.UUID | None = None) -> CustomerDeleted:
    return CustomerDeleted(
        customer_id=customer_id,
        reason=reason,
        merged_into=merged_into,
        deleted_at=utcnow(),
    )
