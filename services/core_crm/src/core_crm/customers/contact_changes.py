"""A customer changing their own phone, mobile or e-mail proves they hold the new one.

These are not changed by a customer's ``PATCH /customers/{id}``: the customer asks for the change,
the CRM publishes ``crm.contact_code_requested`` (omnichannel sends a six-digit code to the new
number by SMS or to the new address by e-mail, the console adapters in development), and the change
is applied when the customer types the code back. A number or address somebody merely typed in would
otherwise match that person's calls and messages to them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import ContactCodeRequested
from aintech_shared.errors import Conflict, NotFound, TooManyRequests, UnprocessableEntity
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import events, repository
from core_crm.customers.access import Viewer
from core_crm.customers.models import ContactChange, Customer
from core_crm.customers.service import get_for_update, search_text

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_REQUESTS_PER_HOUR = 3


def _digest(change_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{change_id}:{code}".encode()).hexdigest()


def _own_record(viewer: Viewer) -> uuid.UUID:
    if viewer.customer_id is None:
        raise NotFound("No customer record is linked to this account.")
    return viewer.customer_id


async def request_change(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, field: str, value: str
) -> ContactChange:
    """Record the wanted number or address and send a code to it (3 requests an hour per customer)."""
    customer = await get_for_update(session, viewer=viewer, customer_id=_own_record(viewer))
    now = utcnow()
    if (
        await repository.contact_changes_since(session, customer.id, since=now - timedelta(hours=1))
        >= MAX_REQUESTS_PER_HOUR
    ):
        raise TooManyRequests(
            f"At most {MAX_REQUESTS_PER_HOUR} codes an hour; try again later.",
            headers={"Retry-After": "3600"},
        )
    code = f"{secrets.randbelow(10**6):06d}"
    change = ContactChange(
        id=uuid.uuid4(),
        customer_id=customer.id,
        field=field,
        value=value,
        code_hash="",
        expires_at=now + CODE_TTL,
    )
    change.code_hash = _digest(change.id, code)
    await repository.add_contact_change(session, change)
    await repository.audit(
        session,
        customer_id=customer.id,
        action="contact_change_requested",
        actor_id=viewer.actor_id,
        details={"field": field, "change_id": str(change.id)},
    )
    await rt.outbox.publish(
        session,
        ContactCodeRequested(
            change_id=change.id,
            customer_id=customer.id,
            field=field,
            channel="email" if field == "email" else "sms",
            to=value,
            first_name=customer.first_name or customer.company_name or "",
            language=customer.preferred_language or "es",
            code=code,
            expires_at=change.expires_at,
        ),
        key=str(customer.id),
    )
    return change


async def confirm_change(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, change_id: uuid.UUID, code: str
) -> Customer:
    """Apply the change when ``code`` is the one sent (once); a wrong code counts, and after
    ``MAX_ATTEMPTS`` the change is burnt; an expired or used change is 409."""
    customer = await get_for_update(session, viewer=viewer, customer_id=_own_record(viewer))
    change = await repository.contact_change_for_update(session, change_id)
    if change is None or change.customer_id != customer.id:
        raise NotFound("No such contact change.")
    if change.confirmed_at is not None:
        raise Conflict("This change was already confirmed.")
    if change.expires_at <= utcnow() or change.attempts >= MAX_ATTEMPTS:
        raise Conflict("This code is no longer valid: ask for a new one.")
    if not hmac.compare_digest(change.code_hash, _digest(change.id, code)):
        change.attempts += 1
        await repository.flush(session)
        raise UnprocessableEntity(
            "The code is not the one we sent.",
            errors=[{"location": "body", "field": "code", "message": "wrong code", "type": "value_error"}],
            keep_changes=True,
        )
    if change.field == "email":
        other = await repository.live_by_email(session, change.value)
        if other is not None and other.id != customer.id:
            raise Conflict("This e-mail address belongs to another customer record: contact your broker.")
    change.confirmed_at = utcnow()
    if getattr(customer, change.field) != change.value:
        setattr(customer, change.field, change.value)
        customer.search_text = search_text(customer)
        customer.version += 1
        customer.updated_at = utcnow()
        customer.updated_by = viewer.actor_id
        await repository.flush(session)
        await events.publish_updated(session, rt, customer, [change.field])
    await repository.audit(
        session,
        customer_id=customer.id,
        action="contact_changed",
        actor_id=viewer.actor_id,
        details={"field": change.field, "change_id": str(change.id)},
    )
    return customer
