"""Customer-wide endpoints: stats, lifetime value, segmentation, merge, GDPR export/erasure, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from aintech_contracts.rbac import Permission, Role
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import Forbidden, responses
from core_crm.core.preconditions import IfMatch, etag, expected_version, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.core.transitions import RETRY_SAFE, Guarded
from core_crm.customers.access import Viewer, staff, viewer
from core_crm.customers.schemas import (
    CustomerOut,
    CustomerStats,
    LifetimeValue,
    MergeRequest,
    MergeResult,
    SegmentResult,
)
from core_crm.profile import service

router = APIRouter(prefix="/customers", tags=["customers"])

Reader = Annotated[Viewer, Depends(viewer(Permission.customers_read))]
StaffReader = Annotated[Viewer, Depends(staff(Permission.customers_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.customers_write))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such customer", "No such customer.")


@router.get(
    "/{customer_id}/stats",
    response_model=CustomerStats,
    summary="Customer 360 figures",
    description="Policies (by type, annualised premium), claims (open, last 3 years, amounts), quotes, "
    "contacts, open tasks, lifetime value and the segment the rules suggest.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def stats(customer_id: uuid.UUID, who: StaffReader, db: ReadSession) -> dict[str, Any]:
    return await service.customer_stats(db, viewer=who, customer_id=customer_id)


@router.get(
    "/{customer_id}/lifetime-value",
    response_model=LifetimeValue,
    summary="Customer lifetime value",
    description="Premium earned so far (every term, pro rata to today or the cancellation) − claims paid "
    "+ active annual premium × expected remaining years (by segment: vip 6, premium 5, standard 4, "
    "new 3, otherwise 1). Euros.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def lifetime_value(customer_id: uuid.UUID, who: StaffReader, db: ReadSession) -> dict[str, Any]:
    return await service.lifetime_value(db, viewer=who, customer_id=customer_id)


@router.post(
    "/{customer_id}/segment",
    response_model=SegmentResult,
    summary="Re-run the segmentation rules",
    description="Needs `customers:write`. The rules (also run nightly and after every policy or claim "
    "event) look at annual premium, active policies, tenure and claims; see docs/crm.md. Publishes "
    "`customer.updated` when the segment changes.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def segment(customer_id: uuid.UUID, who: Writer, db: DbSession, rt: RuntimeDep) -> SegmentResult:
    customer, previous, reasons = await service.resegment_one(db, rt=rt, viewer=who, customer_id=customer_id)
    return SegmentResult(
        customer_id=customer.id,
        previous_segment=previous,
        segment=customer.segment or "",
        changed=previous != customer.segment,
        reasons=reasons,
    )


@router.post(
    "/{customer_id}/merge",
    response_model=MergeResult,
    summary="Merge a duplicate into this customer",
    description="Needs `customers:write`. In one transaction: the duplicate's policies, claims, quotes, "
    "interactions and tasks move to this customer; its data fills this customer's empty fields; tags "
    "are united; the duplicate becomes `merged` (pointing here); both get an audit entry. Publishes "
    "`customer.updated` (survivor) and `customer.deleted` with reason `merged`. `If-Match` is the "
    "survivor's ETag. " + RETRY_SAFE,
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "One of them is merged, erased or deleted"),
        (412, "The survivor changed since you read it"),
        (422, "Unknown duplicate, the same customer, or the Idempotency-Key was used for another request"),
        (428, "Neither If-Match nor Idempotency-Key was sent"),
    ),
)
async def merge(
    customer_id: uuid.UUID, body: MergeRequest, who: Writer, db: DbSession, rt: RuntimeDep, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    survivor, moved, filled = await service.merge_customers(
        db,
        rt=rt,
        viewer=who,
        survivor_id=customer_id,
        duplicate_id=body.duplicate_id,
        expected_version=once.expected_version,
    )
    out = MergeResult(
        survivor=CustomerOut.model_validate(survivor),
        merged_id=body.duplicate_id,
        moved=moved,
        filled_fields=filled,
    )
    return await once.answer(out, headers={"ETag": etag(survivor.version)})


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


@router.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a customer",
    description="Needs `customers:write`. The record leaves lists and search but is kept (status "
    "`deleted`). Refused while the customer has active or pending policies or open claims. "
    "`If-Match` required. Publishes `customer.deleted`.",
    responses=responses(
        *GUARDED, NOT_FOUND, (409, "Live business"), (412, "Stale If-Match"), (428, "If-Match missing")
    ),
)
async def delete(
    customer_id: uuid.UUID, who: Writer, db: DbSession, rt: RuntimeDep, if_match: IfMatch = None
) -> None:
    await service.delete_customer(
        db, rt=rt, viewer=who, customer_id=customer_id, expected_version=expected_version(if_match)
    )
