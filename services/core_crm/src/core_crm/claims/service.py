"""Claim rules: the state machine, coverage at the incident date, amounts, adjuster assignment."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import AppError, Conflict, NotFound, UnprocessableEntity
from aintech_shared.objectstore import StoredObject
from core_crm.accounts import service as accounts
from core_crm.claims import events, files, repository
from core_crm.claims.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Claim,
    ClaimDocument,
    ClaimHistory,
    ClaimNote,
    ClaimStatus,
)
from core_crm.claims.schemas import ClaimCreate
from core_crm.core.base import utcnow
from core_crm.core.numbers import next_number
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers.access import Viewer
from core_crm.policies import service as policies
from core_crm.policies.models import PolicyStatus

# Policies are written for Spain: the incident's local date decides which term covers it.
LOCAL_TZ = ZoneInfo("Europe/Madrid")


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def _history(
    claim: Claim,
    action: str,
    *,
    actor: uuid.UUID | None,
    previous: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> ClaimHistory:
    return ClaimHistory(
        claim_id=claim.id,
        action=action,
        from_status=previous,
        to_status=claim.status,
        actor_id=actor,
        note=note,
        details=details or {},
    )


async def report_claim(session: AsyncSession, *, rt: Runtime, viewer: Viewer, data: ClaimCreate) -> Claim:
    """Open a claim on an active policy of the same customer that covered the incident date."""
    policy = await policies.get_policy(session, viewer=viewer, policy_id=data.policy_id)
    if data.customer_id is not None and data.customer_id != policy.customer_id:
        raise _field_error("customer_id", "is not the holder of this policy")
    if policy.status != PolicyStatus.active:
        raise _field_error("policy_id", f"the policy is {policy.status}; claims need an active policy")
    incident_day = data.incident_date.astimezone(LOCAL_TZ).date()
    covered, reason, _ = await policies.coverage_on(session, policy=policy, on=incident_day)
    if not covered:
        raise _field_error("incident_date", f"not covered on {incident_day}: {reason}")
    claim = Claim(
        customer_id=policy.customer_id,
        policy_id=policy.id,
        claim_number=await next_number(session, "CLM"),
        claim_type=data.claim_type,
        incident_date=data.incident_date,
        description=data.description,
        location=data.location,
        claimed_amount=data.claimed_amount,
        status=ClaimStatus.reported.value,
        attributes=data.metadata,
        created_by=viewer.actor_id,
    )
    await repository.add(session, claim)
    await repository.add(session, _history(claim, ClaimStatus.reported, actor=viewer.actor_id))
    await rt.outbox.publish(
        session, events.created(claim, policy_number=policy.policy_number), key=str(claim.id)
    )
    return claim


def ensure_visible(viewer: Viewer, claim: Claim | None) -> Claim:
    if claim is None or not viewer.may_see(claim.customer_id):
        raise NotFound("No such claim.")
    return claim


async def get_claim(session: AsyncSession, *, viewer: Viewer, claim_id: uuid.UUID) -> Claim:
    """One claim the viewer may see."""
    return ensure_visible(viewer, await repository.get(session, claim_id))


async def _lock(
    session: AsyncSession, viewer: Viewer, claim_id: uuid.UUID, expected_version: int | None
) -> Claim:
    claim = ensure_visible(viewer, await repository.get(session, claim_id, for_update=True))
    check_version(claim.version, expected_version)
    return claim


def _move(claim: Claim, target: ClaimStatus) -> str:
    """Apply a transition of the state machine; 409 problem+json when it is not allowed."""
    current = ClaimStatus(claim.status)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
        raise Conflict(
            f"A claim that is {current.value} cannot become {target.value} (allowed next: {allowed}).",
            current_status=current.value,
        )
    claim.status = target.value
    claim.version += 1
    claim.updated_at = utcnow()
    return current.value


async def update_claim(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Claim:
    """Edit an open claim's facts (412 when stale, 409 once decided)."""
    claim = await _lock(session, viewer, claim_id, expected_version)
    if claim.status not in OPEN_STATUSES:
        raise Conflict(f"A claim that is {claim.status} can no longer be edited.")
    for field in ("claim_type", "description", "metadata"):
        if field in changes and changes[field] is None:
            raise _field_error(field, "cannot be null")
    changed = [k for k, v in changes.items() if getattr(claim, "attributes" if k == "metadata" else k) != v]
    if not changed:
        return claim
    for key, value in changes.items():
        setattr(claim, "attributes" if key == "metadata" else key, value)
    claim.version += 1
    claim.updated_at = utcnow()
    await repository.add(
        session,
        _history(
            claim,
            "updated",
            actor=viewer.actor_id,
            previous=claim.status,
            details={"fields": sorted(changed)},
        ),
    )
    await rt.outbox.publish(session, events.updated(claim, changed), key=str(claim.id))
    return claim


async def start_investigation(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    note: str | None,
    expected_version: int | None,
) -> Claim:
    """reported -> investigating."""
    claim = await _lock(session, viewer, claim_id, expected_version)
    previous = _move(claim, ClaimStatus.investigating)
    await repository.add(
        session,
        _history(claim, ClaimStatus.investigating, actor=viewer.actor_id, previous=previous, note=note),
    )
    await rt.outbox.publish(
        session, events.updated(claim, ["status"], previous_status=previous), key=str(claim.id)
    )
    return claim


async def approve_claim(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    amount: Decimal,
    note: str | None,
    expected_version: int | None,
) -> Claim:
    """investigating -> approved, for at most the coverage (and the claimed amount)."""
    claim = await _lock(session, viewer, claim_id, expected_version)
    policy = await policies.get_policy(session, viewer=viewer, policy_id=claim.policy_id)
    if policy.coverage_amount is not None and amount > policy.coverage_amount:
        raise _field_error("amount", f"exceeds the policy's coverage of {policy.coverage_amount}")
    if claim.claimed_amount is not None and amount > claim.claimed_amount:
        raise _field_error("amount", f"exceeds the claimed amount of {claim.claimed_amount}")
    previous = _move(claim, ClaimStatus.approved)
    claim.approved_amount = amount
    claim.resolved_at = utcnow()
    await repository.add(
        session,
        _history(
            claim,
            ClaimStatus.approved,
            actor=viewer.actor_id,
            previous=previous,
            note=note,
            details={"approved_amount": str(amount)},
        ),
    )
    await rt.outbox.publish(session, events.approved(claim, by=_actor(viewer)), key=str(claim.id))
    return claim


async def deny_claim(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    reason: str,
    expected_version: int | None,
) -> Claim:
    """investigating -> denied, with the reason given to the customer."""
    claim = await _lock(session, viewer, claim_id, expected_version)
    previous = _move(claim, ClaimStatus.denied)
    claim.denial_reason = reason
    claim.resolved_at = utcnow()
    await repository.add(
        session, _history(claim, "denied", actor=viewer.actor_id, previous=previous, note=reason)
    )
    await rt.outbox.publish(session, events.denied(claim, by=_actor(viewer)), key=str(claim.id))
    return claim


async def pay_claim(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    amount: Decimal | None,
    payment_reference: str | None,
    expected_version: int | None,
) -> Claim:
    """approved -> paid (at most the approved amount)."""
    claim = await _lock(session, viewer, claim_id, expected_version)
    to_pay = amount if amount is not None else claim.approved_amount
    if to_pay is not None and claim.approved_amount is not None and to_pay > claim.approved_amount:
        raise _field_error("amount", f"exceeds the approved amount of {claim.approved_amount}")
    previous = _move(claim, ClaimStatus.paid)
    claim.paid_amount = to_pay
    claim.paid_at = utcnow()
    claim.payment_reference = payment_reference
    await repository.add(
        session,
        _history(
            claim,
            "paid",
            actor=viewer.actor_id,
            previous=previous,
            details={"paid_amount": str(to_pay), "reference": payment_reference},
        ),
    )
    await rt.outbox.publish(session, events.paid(claim), key=str(claim.id))
    return claim


def _actor(viewer: Viewer) -> uuid.UUID:
    return viewer.actor_id or uuid.UUID(int=0)


async def assign(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    adjuster_id: uuid.UUID,
    expected_version: int | None = None,
) -> Claim:
    """Give an open claim to a named adjuster (412 on a stale version)."""
    claim = ensure_visible(viewer, await repository.get(session, claim_id, for_update=True))
    check_version(claim.version, expected_version)
    if claim.status not in OPEN_STATUSES:
        raise Conflict(f"A claim that is {claim.status} cannot be reassigned.")
    return await _set_adjuster(
        session, rt=rt, claim=claim, adjuster_id=adjuster_id, actor=viewer.actor_id, auto=False
    )


async def _set_adjuster(
    session: AsyncSession,
    *,
    rt: Runtime,
    claim: Claim,
    adjuster_id: uuid.UUID,
    actor: uuid.UUID | None,
    auto: bool,
) -> Claim:
    previous = claim.adjuster_id
    claim.adjuster_id = adjuster_id
    claim.version += 1
    claim.updated_at = utcnow()
    await repository.add(
        session,
        _history(
            claim,
            "assigned",
            actor=actor,
            previous=claim.status,
            details={
                "adjuster_id": str(adjuster_id),
                "previous": str(previous) if previous else None,
                "automatic": auto,
            },
        ),
    )
    await rt.outbox.publish(session, events.updated(claim, ["adjuster_id"]), key=str(claim.id))
    return claim


async def auto_assign_adjuster(session: AsyncSession, *, rt: Runtime, claim_id: uuid.UUID) -> Claim | None:
    """Give an unassigned open claim to the adjuster with the fewest open claims (ties: lowest id).

    Adjusters are the configured list (CORE_CRM_ADJUSTER_IDS) or else every active agent and
    supervisor of the accounts read model. Choices are serialised, so a burst of claims spreads.
    """
    await repository.lock_assignments(session)
    claim = await repository.get(session, claim_id, for_update=True)
    if claim is None or claim.adjuster_id is not None or claim.status not in OPEN_STATUSES:
        return None
    candidates = await accounts.adjuster_candidates(session, configured=rt.settings.adjuster_ids)
    if not candidates:
        return None
    load = await repository.open_claims_per_adjuster(session, candidates)
    chosen = min(candidates, key=lambda c: (load.get(c, 0), str(c)))
    return await _set_adjuster(session, rt=rt, claim=claim, adjuster_id=chosen, actor=None, auto=True)


async def search_claims(
    session: AsyncSession,
    *,
    viewer: Viewer,
    customer_id: uuid.UUID | None,
    policy_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    adjuster_id: uuid.UUID | None,
    number: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Claim], list[Any] | None]:
    """One page of claims, newest first; a customer only gets their own."""
    if not viewer.is_staff:
        if viewer.customer_id is None or (customer_id is not None and customer_id != viewer.customer_id):
            return [], None
        customer_id = viewer.customer_id
    return await repository.search(
        session,
        customer_id=customer_id,
        policy_id=policy_id,
        statuses=statuses,
        adjuster_id=adjuster_id,
        number=number,
        after=after,
        limit=limit,
    )


async def claim_history(
    session: AsyncSession, *, viewer: Viewer, claim_id: uuid.UUID
) -> Sequence[ClaimHistory]:
    """Every transition and assignment of a claim, oldest first."""
    claim = await get_claim(session, viewer=viewer, claim_id=claim_id)
    return await repository.history(session, claim.id)


async def claim_notes(session: AsyncSession, *, viewer: Viewer, claim_id: uuid.UUID) -> Sequence[ClaimNote]:
    """Notes of a claim (customers see only the ones shared with them)."""
    claim = await get_claim(session, viewer=viewer, claim_id=claim_id)
    return await repository.notes(session, claim.id, include_internal=viewer.is_staff)


async def add_note(
    session: AsyncSession, *, viewer: Viewer, claim_id: uuid.UUID, body: str, internal: bool
) -> ClaimNote:
    """Append a note (a customer's notes are always visible to them)."""
    claim = await get_claim(session, viewer=viewer, claim_id=claim_id)
    note = ClaimNote(
        claim_id=claim.id, author_id=viewer.actor_id, body=body, internal=internal and viewer.is_staff
    )
    await repository.add(session, note)
    return note


async def claim_documents(
    session: AsyncSession, *, viewer: Viewer, claim_id: uuid.UUID
) -> Sequence[ClaimDocument]:
    """Documents attached to a claim."""
    claim = await get_claim(session, viewer=viewer, claim_id=claim_id)
    return await repository.documents(session, claim.id)


class DocumentTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


async def add_document(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    claim_id: uuid.UUID,
    filename: str | None,
    head: bytes,
    size: int,
    content: AsyncIterator[bytes],
    document_type: str | None,
) -> ClaimDocument:
    """Store an uploaded file of an open or approved claim; publish `claim.document_added`.

    ``head`` is the file's first bytes (its type is recognised from them) and ``size`` its length;
    ``content`` streams the whole file into the object store. The bytes are stored before the row
    is written: a failed transaction can leave an unreferenced object, never a row without bytes.
    """
    claim = await get_claim(session, viewer=viewer, claim_id=claim_id)
    if claim.status in (ClaimStatus.denied, ClaimStatus.paid):
        raise Conflict(f"A claim that is {claim.status} takes no more documents.")
    limit = rt.settings.document_max_bytes
    if size > limit:
        raise DocumentTooLarge(f"Claim documents are limited to {limit} bytes; this one has {size}.")
    content_type = files.sniff(head)
    if content_type is None:
        raise _field_error(
            "file",
            f"the content is {files.describe(head)}; accepted are JPEG, PNG and PDF "
            "(recognised by their content, not their name)",
        )
    document = ClaimDocument(
        id=uuid.uuid4(),
        claim_id=claim.id,
        name=files.safe_name(filename, content_type),
        document_type=document_type,
        content_type=content_type,
        uploaded_by=viewer.actor_id,
    )
    stored = await rt.objects.put(f"claims/{claim.id}/{document.id}", content, content_type=content_type)
    if stored.size > limit:  # the stream was longer than announced
        await rt.objects.delete(stored.key)
        raise DocumentTooLarge(f"Claim documents are limited to {limit} bytes.")
    document.object_key, document.sha256, document.size = stored.key, stored.sha256, stored.size
    await repository.add(session, document)
    await rt.outbox.publish(session, events.document_added(claim, document, stored=stored), key=str(claim.id))
    return document


async def document_file(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, claim_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[ClaimDocument, StoredObject]:
    """An uploaded document of a claim the viewer may see, and its stored object (404 otherwise)."""
    claim = await get_claim(session, viewer=viewer, claim_id=claim_id)
    document = await repository.document(session, claim_id=claim.id, document_id=document_id)
    if document is None:
        raise NotFound("No such document on this claim.")
    if document.object_key is None:
        raise NotFound("This document is an external link with no stored file; follow its `url`.")
    stored = await rt.objects.stat(document.object_key)
    if stored is None:
        raise NotFound("The document's file is missing from storage.")
    return document, stored


async def claims_of(session: AsyncSession, *, customer_id: uuid.UUID) -> Sequence[Claim]:
    """Every claim of a customer (for 360 views and exports)."""
    return await repository.for_customer(session, customer_id)


async def owner_of(session: AsyncSession, *, claim_id: uuid.UUID) -> uuid.UUID | None:
    """The customer a claim belongs to (None when there is no such claim)."""
    row = await repository.get(session, claim_id)
    return row.customer_id if row is not None else None
