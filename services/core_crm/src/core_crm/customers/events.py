"""The customer events' payloads, built from a row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from aintech_contracts.events.crm import CustomerCreated, CustomerDeleted, CustomerUpdated
from core_crm.core.base import utcnow
from core_crm.customers.models import Customer


def _fields(customer: Customer) -> dict[str, object]:
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
        "dni": customer.dni,
        "iban": customer.iban,
        "address_line1": customer.address_line1,
        "postal_code": customer.postal_code,
        "city": customer.city,
    }


def created(customer: Customer) -> CustomerCreated:
    return CustomerCreated(**_fields(customer), created_by=customer.created_by)


def updated(customer: Customer, changed: Iterable[str]) -> CustomerUpdated:
    return CustomerUpdated(
        **_fields(customer),
        changed_fields=sorted(set(changed)),
        version=customer.version,
    )


def deleted(customer_id: uuid.UUID, *, reason: str, merged_into: uuid.UUID | None = None) -> CustomerDeleted:
    return CustomerDeleted(
        customer_id=customer_id,
        reason=reason,
        merged_into=merged_into,
        deleted_at=utcnow(),
    )
