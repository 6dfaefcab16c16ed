"""Customer endpoints: create, read, update, search (customers see only their own record)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from aintech_contracts.rbac import Permission
from aintech_shared.app import json_response
from aintech_shared.db import DbSession, ReadDriver
from aintech_shared.errors import NotFound, responses
from aintech_shared.hot import hot_get
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.preconditions import IfMatch, etag, expected_version, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.core.types import QueryText
from core_crm.customers import contact_changes, service
from core_crm.customers.access import Viewer, customer_self, lean_viewer, staff, viewer
from core_crm.customers.models import CustomerSegment, CustomerStatus
from core_crm.customers.schemas import (
    ContactChangeIn,
    ContactChangeOut,
    ContactCodeIn,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
)

router = APIRouter(prefix="/customers", tags=["customers"])

# GET endpoints read on the read-only pool (no transaction round trips), with Core queries.
Reader = Annotated[Viewer, Depends(lean_viewer(Permission.customers_read))]
Writer = Annotated[Viewer, Depends(viewer(Permission.customers_write))]
StaffWriter = Annotated[Viewer, Depends(staff(Permission.customers_write))]
SelfService = Annotated[Viewer, Depends(customer_self())]


def _view(customer: Any) -> Response:
    """A customer view row as ``CustomerOut`` JSON (same fields), with its ``ETag``."""
    return json_response(dict(customer), headers={"ETag": etag(customer["version"])})


GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such customer", "No such customer.")


@hot_get(
    router,
    "",
    response_model=CursorPage[CustomerOut],
    summary="Search and list customers",
    description="`q` is matched by what it looks like: an e-mail (prefix), a phone number (E.164 or "
    "Spanish national, against phone and mobile), a DNI/NIE/CIF (exact), otherwise a name — partial, "
    "case- and accent-insensitive (`munoz` finds Muñoz) over first name, last name and company. "
    "Filters combine. Merged, erased and deleted customers are left out unless `status` asks for them. "
    "Cursor pagination: pass `next_cursor` back as `cursor`. A customer only ever finds their own record.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def search_customers(
    who: Reader,
    db: ReadDriver,
    q: Annotated[QueryText | None, Query(description="Name, e-mail, phone or DNI/NIE/CIF.")] = None,
    email: Annotated[QueryText | None, Query(description="E-mail prefix.")] = None,
    phone: Annotated[QueryText | None, Query(description="Phone or mobile (any format).")] = None,
    tax_id: Annotated[QueryText | None, Query(description="DNI, NIE or CIF.")] = None,
    status_: Annotated[
        list[CustomerStatus] | None, Query(alias="status", description="Repeat for several.")
    ] = None,
    segment: CustomerSegment | None = None,
    province: Annotated[QueryText | None, Query(description="Province name (any official spelling).")] = None,
    tag: Annotated[QueryText | None, Query()] = None,
    owner_id: uuid.UUID | None = None,
    sort: Literal["-created_at", "created_at", "last_name", "-last_name"] = "-created_at",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    rows, next_key = await service.search_customers(
        db,
        viewer=who,
        q=q or None,
        email=email or None,
        phone=phone or None,
        tax_id=tax_id or None,
        statuses=[s.value for s in status_] if status_ else None,
        segment=segment.value if segment else None,
        province=province or None,
        tag=tag or None,
        owner_id=owner_id,
        sort=sort,
        after=decode_cursor(cursor, kinds=("str" if "last_name" in sort else "datetime", "uuid")),
        limit=limit,
    )
    keys = tuple(rows[0].keys()) if rows else ()  # the same columns in every row of the page
    return json_response(
        {
            "items": [dict(zip(keys, row, strict=True)) for row in rows],  # a third less than dict(row)
            "next_cursor": encode_cursor(next_key) if next_key else None,
        }
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerOut,
    summary="Create a customer",
    description="Needs `customers:write`. Spanish data is validated for real: DNI/NIE check letter, "
    "CIF control character, IBAN check digits, the postal code's province (filled in when omitted), "
    "phones stored in E.164. A verified customer account with the same e-mail is linked at once. "
    "Publishes `customer.created`; the response carries the record's `ETag`.",
    responses=responses(
        *GUARDED,
        (409, "Duplicate e-mail or DNI", "A customer with this e-mail address already exists."),
        (422, "Invalid field (DNI letter, IBAN, postal code vs province, phone…)"),
    ),
)
async def create_customer(
    body: CustomerCreate, who: StaffWriter, db: DbSession, rt: RuntimeDep, response: Response
) -> CustomerOut:
    customer = await service.create_customer(db, rt=rt, viewer=who, data=body)
    set_etag(response, customer.version)
    response.headers["Location"] = f"/customers/{customer.id}"
    return CustomerOut.model_validate(customer)


@router.post(
    "/me/contact-changes",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ContactChangeOut,
    summary="Change my phone, mobile or e-mail: a code is sent to the new one (customers)",
    description="By SMS to a new number, by e-mail to a new address. Nothing changes until the code is "
    "confirmed (`POST /customers/me/contact-changes/{change_id}/confirm`), within 10 minutes and 5 tries; "
    "3 requests an hour. Staff change them with `PATCH /customers/{id}`.",
    responses=responses(
        *GUARDED,
        (404, "No customer record is linked to this account"),
        (422, "Invalid number or address"),
        (429, "Too many codes requested"),
    ),
)
async def request_contact_change(
    body: ContactChangeIn, who: SelfService, db: DbSession, rt: RuntimeDep
) -> ContactChangeOut:
    change = await contact_changes.request_change(db, rt=rt, viewer=who, field=body.field, value=body.value)
    return ContactChangeOut.model_validate(change)


@router.post(
    "/me/contact-changes/{change_id}/confirm",
    response_model=CustomerOut,
    summary="Confirm my new phone, mobile or e-mail with the code sent to it (customers)",
    description="Applies the change and publishes `customer.updated`. A wrong code is 422 (and counts); "
    "a used, expired or burnt change is 409, as is an e-mail address another customer record has.",
    responses=responses(
        *GUARDED,
        (404, "No such contact change"),
        (409, "Already confirmed, expired, too many wrong codes, or the address is another customer's"),
        (422, "Wrong code"),
    ),
)
async def confirm_contact_change(
    change_id: uuid.UUID,
    body: ContactCodeIn,
    who: SelfService,
    db: DbSession,
    rt: RuntimeDep,
    response: Response,
) -> CustomerOut:
    customer = await contact_changes.confirm_change(
        db, rt=rt, viewer=who, change_id=change_id, code=body.code
    )
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.get(
    "/me",
    response_model=CustomerOut,
    summary="My customer record (customers)",
    description="The CRM record linked to the calling customer account (linked by verified e-mail).",
    responses=responses(*GUARDED, (404, "No customer record is linked to this account")),
)
async def my_record(who: Reader, db: ReadDriver) -> Response:
    if who.customer_id is None:
        raise NotFound("No customer record is linked to this account.")
    customer = await service.read_customer(db, viewer=who, customer_id=who.customer_id)
    return _view(customer)


@hot_get(
    router,
    "/{customer_id}",
    response_model=CustomerOut,
    summary="Get a customer",
    description="The `ETag` header is the record's version; send it back as `If-Match` to update.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def get_customer(customer_id: uuid.UUID, who: Reader, db: ReadDriver) -> Response:
    customer = await service.read_customer(db, viewer=who, customer_id=customer_id)
    return _view(customer)


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    summary="Update a customer",
    description="Needs `customers:write` (staff), or `self:service` for a customer's own contact details "
    "(phones, address, IBAN, preferred channel and language). `If-Match` with the ETag you read is "
    "required: a stale one answers 412, none 428. Publishes `customer.updated` with the changed fields.",
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "Duplicate e-mail/DNI, or the customer is merged/erased"),
        (412, "The record changed since you read it"),
        (428, "If-Match is missing"),
        (422, "Invalid field"),
    ),
)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    who: Writer,
    db: DbSession,
    rt: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerOut:
    customer = await service.update_customer(
        db,
        rt=rt,
        viewer=who,
        customer_id=customer_id,
        expected_version=expected_version(if_match),
        changes=body.changes(),
    )
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)
