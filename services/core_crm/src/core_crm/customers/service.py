"""Customer rules: validation beyond the schema, duplicates, account links, object-level access."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_contracts.statuses import CustomerSegment
from aintech_shared.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from core_crm.accounts import service as accounts
from core_crm.core import spain
from core_crm.core.base import utcnow
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers import events, repository
from core_crm.customers.access import Viewer
from core_crm.customers.models import CLOSED_STATUSES, Customer, CustomerStatus, CustomerType
from core_crm.customers.schemas import NOT_NULL_FIELDS, PROVEN_FIELDS, SELF_SERVICE_FIELDS, CustomerCreate

SEARCH_KINDS = ("name", "email", "phone", "tax_id")


def search_text(customer: Customer) -> str:
    """The folded text name search matches against (names and company)."""
    parts = [customer.first_name, customer.last_name, customer.company_name or ""]
    return spain.fold(" ".join(p for p in parts if p))


def classify_query(q: str) -> tuple[str, str]:
    """What a free-text query looks like: an e-mail, a phone, a DNI/NIE/CIF, or a name."""
    if "@" in q:
        return "email", q.strip().lower()
    number = spain.maybe_phone(q)
    if number is not None:
        return "phone", number
    compact = "".join(c for c in q if c.isalnum()).upper()
    if spain.tax_id_kind(compact):
        return "tax_id", compact
    return "name", spain.fold(q)


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


async def _ensure_unique(
    session: AsyncSession, *, email: str | None, dni: str | None, exclude: uuid.UUID | None = None
) -> None:
    if email:
        other = await repository.live_by_email(session, email)
        if other is not None and other.id != exclude:
            raise Conflict("A customer with this e-mail address already exists.", existing_id=str(other.id))
    if dni:
        other = await repository.live_by_dni(session, dni)
        if other is not None and other.id != exclude:
            raise Conflict("A customer with this DNI/NIE already exists.", existing_id=str(other.id))


def _visible(viewer: Viewer, customer_id: uuid.UUID, status: str) -> bool:
    """Staff see every record; a customer only their own, and only while it is live."""
    return viewer.may_see(customer_id) and (viewer.is_staff or status not in CLOSED_STATUSES)


def ensure_visible(viewer: Viewer, customer: Customer | None) -> Customer:
    """The customer if the viewer may see it; 404 otherwise (never 403, so ids cannot be probed)."""
    if customer is None or not _visible(viewer, customer.id, customer.status):
        raise NotFound("No such customer.")
    return customer


async def create_customer(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, data: CustomerCreate
) -> Customer:
    """Create a customer (409 on a live duplicate e-mail or DNI); links a verified account by e-mail."""
    return await _create(session, rt=rt, data=data, actor_id=viewer.actor_id)


async def create_for_automation(session: AsyncSession, *, rt: Runtime, data: CustomerCreate) -> Customer:
    """Create a customer with no caller behind it (an inbound lead); the same rules as by hand."""
    return await _create(session, rt=rt, data=data, actor_id=None)


async def _create(
    session: AsyncSession, *, rt: Runtime, data: CustomerCreate, actor_id: uuid.UUID | None
) -> Customer:
    await _ensure_unique(session, email=data.email, dni=data.dni)
    values = data.model_dump(exclude={"metadata"})
    customer = Customer(
        **values,
        attributes=data.metadata,
        segment=CustomerSegment.prospect if data.status == CustomerStatus.prospect else CustomerSegment.new,
        created_by=actor_id,
        updated_by=actor_id,
    )
    customer.search_text = search_text(customer)
    if data.email:
        await repository.lock_account_link(session, data.email)
        account = await accounts.verified_customer_account(session, email=data.email)
        if account is not None and await repository.by_user(session, account.user_id) is None:
            customer.user_id = account.user_id
    await repository.add(session, customer)
    await events.publish_created(session, rt, customer)
    return customer


async def get_customer(session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID) -> Customer:
    """One customer the viewer may see."""
    return ensure_visible(viewer, await repository.get(session, customer_id))


async def read_customer(conn: AsyncConnection | Any, *, viewer: Viewer, customer_id: uuid.UUID) -> Any:
    """One customer's view the viewer may see (404 otherwise), in one query on the read path."""
    row = await repository.view(conn, customer_id)
    if row is None or not _visible(viewer, row["id"], row["status"]):
        raise NotFound("No such customer.")
    return row


async def get_for_update(session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID) -> Customer:
    """Lock a live customer the viewer may change (404 when absent, closed or not theirs)."""
    customer = ensure_visible(viewer, await repository.get(session, customer_id, for_update=True))
    if customer.status in CLOSED_STATUSES:
        raise Conflict(f"This customer is {customer.status}; it can no longer be changed.")
    return customer


async def update_customer(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    customer_id: uuid.UUID,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Customer:
    """Apply a partial update if the client saw the current version (412 otherwise)."""
    customer = await get_for_update(session, viewer=viewer, customer_id=customer_id)
    check_version(customer.version, expected_version)
    if not viewer.is_staff:
        proven = sorted(set(changes) & PROVEN_FIELDS)
        if proven:
            raise Forbidden(
                "A customer changes their phone, mobile or e-mail by confirming a code sent to the new one "
                "(POST /customers/me/contact-changes): " + ", ".join(proven) + "."
            )
        refused = sorted(set(changes) - SELF_SERVICE_FIELDS)
        if refused:
            raise Forbidden("Customers may only change their contact details: " + ", ".join(refused) + ".")
    for field in sorted(set(changes) & NOT_NULL_FIELDS):
        if changes[field] is None:
            raise _field_error(field, "cannot be null")
    changed = [
        k for k, v in changes.items() if getattr(customer, "attributes" if k == "metadata" else k) != v
    ]
    if not changed:
        return customer
    merged = {
        "country": changes.get("country", customer.country),
        "postal_code": changes.get("postal_code", customer.postal_code),
        "province": changes.get("province", customer.province),
    }
    if {"country", "postal_code", "province"} & set(changes) and merged["country"] == "ES":
        try:
            province = spain.check_postal_code_and_province(merged["postal_code"], merged["province"])
        except ValueError as exc:
            raise _field_error("postal_code", str(exc)) from exc
        if province != customer.province:
            changes["province"] = province
            changed.append("province")
    customer_type = changes.get("customer_type", customer.customer_type)
    company = changes.get("company_name", customer.company_name)
    if customer_type == CustomerType.business and not company:
        raise _field_error("company_name", "is required for a business customer")
    await _ensure_unique(
        session,
        email=changes.get("email") if "email" in changes else None,
        dni=changes.get("dni") if "dni" in changes else None,
        exclude=customer.id,
    )
    for key, value in changes.items():
        setattr(customer, "attributes" if key == "metadata" else key, value)
    customer.search_text = search_text(customer)
    customer.version += 1
    customer.updated_at = utcnow()
    customer.updated_by = viewer.actor_id
    await repository.flush(session)
    await events.publish_updated(session, rt, customer, changed)
    return customer


async def search_customers(
    conn: AsyncConnection | Any,
    *,
    viewer: Viewer,
    q: str | None,
    email: str | None,
    phone: str | None,
    tax_id: str | None,
    statuses: Sequence[str] | None,
    segment: str | None,
    province: str | None,
    tag: str | None,
    owner_id: uuid.UUID | None,
    sort: str,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Any], list[Any] | None]:
    """One page of matching customer views; a customer only ever finds their own record."""
    criteria: dict[str, str | None] = {"name": None, "email": email, "phone": None, "tax_id": None}
    if q:
        kind, value = classify_query(q)
        criteria[kind] = value
    if phone:
        try:
            criteria["phone"] = spain.phone(phone)
        except ValueError as exc:
            raise UnprocessableEntity(
                errors=[{"location": "query", "field": "phone", "message": str(exc), "type": "value_error"}]
            ) from exc
    if tax_id:
        criteria["tax_id"] = "".join(c for c in tax_id if c.isalnum()).upper()
    if province:
        code = spain.province_code(province)
        province = spain.PROVINCES[code] if code else province
    only_id = None
    if not viewer.is_staff:
        if viewer.customer_id is None:
            return [], None
        only_id = viewer.customer_id
        statuses = None
    return await repository.search(
        conn,
        name=criteria["name"],
        email=criteria["email"],
        phone=criteria["phone"],
        tax_id=criteria["tax_id"],
        statuses=statuses,
        segment=segment,
        province=province,
        tag=tag.lower() if tag else None,
        owner_id=owner_id,
        only_id=only_id,
        sort=sort,
        after=after,
        limit=limit,
    )


async def link_account(
    session: AsyncSession, *, rt: Runtime, user_id: uuid.UUID, email: str
) -> Customer | None:
    """Link a verified customer account to the live customer with the same e-mail (once)."""
    await repository.lock_account_link(session, email)
    customer = await repository.link_account(session, email=email, user_id=user_id)
    if customer is None:
        return None
    await repository.audit(
        session,
        customer_id=customer.id,
        action="account_linked",
        actor_id=None,
        details={"user_id": str(user_id)},
    )
    await events.publish_updated(session, rt, customer, ["user_id"])
    return customer


async def find_for_contact(
    session: AsyncSession, *, customer_id: uuid.UUID | None, phone: str | None, email: str | None
) -> Customer | None:
    """The live customer a call or message belongs to: by id, else by phone, else by e-mail."""
    if customer_id is not None:
        customer = await repository.get(session, customer_id)
        if customer is not None and customer.status not in CLOSED_STATUSES:
            return customer
        if customer is not None and customer.merged_into is not None:
            return await repository.get(session, customer.merged_into)
    if phone:
        try:
            normalised = spain.phone(phone)
        except ValueError:
            normalised = None
        if normalised:
            found = await repository.live_by_phone(session, normalised)
            if found is not None:
                return found
    if email:
        return await repository.live_by_email(session, email)
    return None


async def identified_by_phone(session: AsyncSession, phone: str) -> uuid.UUID | None:
    """The one live customer with this (E.164) phone or mobile, if exactly one has it."""
    found = await repository.live_by_phone(session, phone)
    return found.id if found is not None else None


async def identified_by_dni(session: AsyncSession, dni: str) -> uuid.UUID | None:
    """The live customer with this DNI/NIE (as stored: upper case, no separators), if any."""
    found = await repository.live_by_dni(session, "".join(c for c in dni if c.isalnum()).upper())
    return found.id if found is not None else None


async def referenced_customer(
    session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID, for_update: bool = False
) -> Customer:
    """A live customer named in a request body; 422 when unknown, not the viewer's, or closed."""
    customer = await repository.get(session, customer_id, for_update=for_update)
    if customer is None or not viewer.may_see(customer.id) or customer.status in CLOSED_STATUSES:
        raise _field_error("customer_id", "no such customer")
    return customer


async def internal_get(session: AsyncSession, *, customer_id: uuid.UUID) -> Customer | None:
    """A live customer by id, for automations (no caller to check)."""
    customer = await repository.get(session, customer_id)
    if customer is None or customer.status in CLOSED_STATUSES:
        return None
    return customer


async def automated_update(
    session: AsyncSession, *, rt: Runtime, customer_id: uuid.UUID, changes: dict[str, Any]
) -> Customer:
    """Apply an automation's change (segment, status, owner, added tags); publishes `customer.updated`."""
    customer = await repository.get(session, customer_id, for_update=True)
    if customer is None or customer.status in CLOSED_STATUSES:
        raise NotFound("No such live customer.")
    changed: list[str] = []
    for key, value in changes.items():
        if key == "add_tags":
            tags = sorted(set(customer.tags) | {str(t).strip().lower()[:50] for t in value if str(t).strip()})
            if tags != sorted(customer.tags):
                customer.tags = tags
                changed.append("tags")
        elif getattr(customer, key) != value:
            setattr(customer, key, value)
            changed.append(key)
    if changed:
        customer.version += 1
        customer.updated_at = utcnow()
        await repository.flush(session)
        await events.publish_updated(session, rt, customer, changed)
    return customer
