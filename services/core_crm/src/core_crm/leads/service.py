"""Inbound leads: the signature check (HMAC-SHA256 per source, timestamp window, replays refused)
and the lead itself (matched to a live customer by e-mail, phone or DNI/NIE, or a new prospect),
announced as `lead.received`, which starts the lead workflows."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import LeadReceived
from aintech_shared.errors import Conflict, Forbidden, NotFound
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import repository as customer_rows
from core_crm.customers import service as customers
from core_crm.customers.models import Customer
from core_crm.customers.schemas import CustomerCreate
from core_crm.leads import repository, scoring
from core_crm.leads.models import Lead, LeadScore
from core_crm.leads.schemas import LeadIn

SIGNATURE_HEADER = "X-Lead-Signature"
TIMESTAMP_HEADER = "X-Lead-Timestamp"
MatchedBy = Literal["email", "phone", "dni"]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``: what a sender puts in X-Lead-Signature."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify(
    *,
    rt: Runtime,
    source: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> str:
    """The digest that identifies this signed delivery; 404 for an unknown source, 403 for a missing,
    stale or wrong signature. Nothing is stored on a refusal."""
    secret = rt.settings.lead_sources.get(source)
    if secret is None:
        raise NotFound("No such lead source.")
    if (
        not timestamp
        or not signature
        or len(signature) > 200
        or not timestamp.isdigit()
        or len(timestamp) > 12
    ):
        raise Forbidden(f"A lead needs {TIMESTAMP_HEADER} (Unix seconds) and {SIGNATURE_HEADER}.")
    skew = abs((now if now is not None else time.time()) - int(timestamp))
    if skew > rt.settings.lead_signature_tolerance_seconds:
        raise Forbidden("The lead's timestamp is outside the accepted window; sign it again now.")
    expected = sign(secret.get_secret_value(), timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Forbidden("The lead's signature is not valid for this source.")
    return hashlib.sha256(f"{source}:{expected}".encode()).hexdigest()


async def _match(session: AsyncSession, lead: LeadIn) -> tuple[Customer | None, MatchedBy | None]:
    if lead.email:
        found = await customer_rows.live_by_email(session, lead.email)
        if found is not None:
            return found, "email"
    if lead.phone:
        found = await customer_rows.live_by_phone(session, lead.phone)
        if found is not None:
            return found, "phone"
    if lead.dni:
        found = await customer_rows.live_by_dni(session, lead.dni)
        if found is not None:
            return found, "dni"
    return None, None


async def receive(session: AsyncSession, *, rt: Runtime, source: str, digest: str, lead: LeadIn) -> Lead:
    """Record a verified lead once (a replay of the same signed delivery is 409), on the customer
    it matches or on a new prospect; publishes `lead.received`."""
    if await repository.seen(session, digest):
        raise Conflict("This lead was already received (a replayed delivery).")
    customer, matched_by = await _match(session, lead)
    if customer is None:
        customer = await customers.create_for_automation(
            session,
            rt=rt,
            data=CustomerCreate(
                first_name=lead.first_name,
                last_name=lead.last_name or "-",
                email=lead.email,
                mobile=lead.phone,
                dni=lead.dni,
                postal_code=lead.postal_code,
                status="prospect",
                lead_source=source,
                preferred_language=lead.preferred_language,
                tags=[f"lead:{source}"],
            ),
        )
    row = Lead(
        source=source,
        campaign=lead.campaign,
        customer_id=customer.id,
        matched=matched_by is not None,
        matched_by=matched_by,
        signature_digest=digest,
        payload=lead.model_dump(mode="json"),
        received_at=utcnow(),
    )
    await repository.add(session, row)
    await rescore(session, customer_id=customer.id, only_leads=False)
    await rt.outbox.publish(
        session,
        LeadReceived(
            lead_id=row.id,
            customer_id=customer.id,
            source=source,
            campaign=lead.campaign,
            matched=row.matched,
            matched_by=matched_by,
            received_at=row.received_at,
        ),
        key=str(customer.id),
    )
    return row


# --- lead score -----------------------------------------------------------------------------------


async def rescore(session: AsyncSession, *, customer_id: uuid.UUID, only_leads: bool = True) -> int | None:
    """Recompute a customer's lead score from the facts; with ``only_leads`` only for a customer who
    already has a score or is a prospect. The score, or None when nothing was computed."""
    facts = await repository.facts(session, customer_id)
    if facts is None:
        return None
    if only_leads and not await repository.is_scored(session, customer_id):
        customer = await customers.internal_get(session, customer_id=customer_id)
        if customer is None or customer.status != "prospect":
            return None
    total, reasons = scoring.score(facts)
    await repository.save_score(session, customer_id, total, reasons)
    return total


async def score_of(session: AsyncSession, *, customer_id: uuid.UUID) -> LeadScore:
    row = await repository.score_of(session, customer_id)
    if row is None:
        raise NotFound("This customer has no lead score.")
    return row


async def ranked(
    session: AsyncSession, *, statuses: list[str], min_score: int, after: list[Any] | None, limit: int
) -> tuple[list[Any], list[Any] | None]:
    """Scored customers, best lead first."""
    return await repository.ranked(session, statuses=statuses, min_score=min_score, after=after, limit=limit)
