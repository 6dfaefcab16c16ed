"""The GDPR endpoints of a customer: export (access, portability) and erasure."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from aintech_contracts.rbac import Permission, Role
from aintech_shared.db import DbSession
from aintech_shared.errors import Forbidden, responses
from core_crm.core.preconditions import IfMatch, expected_version, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.customers.access import Viewer, staff, viewer
from core_crm.customers.schemas import CustomerOut
from core_crm.gdpr import service

router = APIRouter(prefix="/customers", tags=["customers"])

Reader = Annotated[Viewer, Depends(viewer(Permission.customers_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.customers_write))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such customer", "No such customer.")


@router.get(
    "/{customer_id}/export",
    summary="GDPR export: everything held about the person",
    description="Staff with `customers:read`, or the customer themselves (right of access). The "
    "customer record, policies with every term, claims with history, shared notes and documents, "
    "quotes, interactions, tasks (staff only) and the audit trail, as one JSON document. Audited.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def export(customer_id: uuid.UUID, who: Reader, db: DbSession) -> dict[str, Any]:
    return await service.export_customer(db, viewer=who, customer_id=customer_id)


@router.post(
    "/{customer_id}/erase",
    response_model=CustomerOut,
    summary="GDPR erasure: anonymise the person",
    description="Supervisors and administrators with `customers:write`. Refused (409) while the customer "
    "has active or pending policies or open claims. Names become `Cliente Suprimido`; contact data, "
    "identifiers, address (the province stays, for statistics), IBAN, notes and the account link are "
    "removed; interactions and tasks lose their content. Policies and claims are kept as insurance and "
    "tax law require (docs/crm.md). `If-Match` required. Publishes `customer.deleted` (reason `erased`).",
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "Live business, or already erased"),
        (412, "Stale If-Match"),
        (428, "If-Match missing"),
    ),
)
async def erase(
    customer_id: uuid.UUID,
    who: Writer,
    db: DbSession,
    rt: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerOut:
    if who.principal.role not in (Role.supervisor, Role.admin):
        raise Forbidden("Erasure is for supervisors and administrators.")
    customer = await service.erase_customer(
        db, rt=rt, viewer=who, customer_id=customer_id, expected_version=expected_version(if_match)
    )
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)
