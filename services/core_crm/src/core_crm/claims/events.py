"""The claim events' payloads, built from a row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from aintech_contracts.events.crm import (
    ClaimApproved,
    ClaimCreated,
    ClaimDenied,
    ClaimDocumentAdded,
    ClaimPaid,
    ClaimUpdated,
)
from aintech_shared.objectstore import StoredObject
from core_crm.claims.models import Claim, ClaimDocument


def created(claim: Claim, *, policy_number: str) -> ClaimCreated:
    return ClaimCreated(
        claim_id=claim.id,
        claim_number=claim.claim_number,
        claim_type=claim.claim_type,
        status=claim.status,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        policy_number=policy_number,
        incident_date=claim.incident_date,
        location=claim.location,
        description=claim.description,
        claimed_amount=claim.claimed_amount,
        adjuster_id=claim.adjuster_id,
        attributes=dict(claim.attributes or {}),
    )


def updated(claim: Claim, changed: Iterable[str], *, previous_status: str | None = None) -> ClaimUpdated:
    return ClaimUpdated(
        claim_id=claim.id,
        claim_number=claim.claim_number,
        status=claim.status,
        previous_status=previous_status,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        claimed_amount=claim.claimed_amount,
        adjuster_id=claim.adjuster_id,
        changed_fields=sorted(set(changed)),
        claim_type=claim.claim_type,
        incident_date=claim.incident_date,
        location=claim.location,
        attributes=dict(claim.attributes or {}),
    )


def approved(claim: Claim, *, by: uuid.UUID) -> ClaimApproved:
    assert claim.approved_amount is not None
    return ClaimApproved(
        claim_id=claim.id,
        claim_number=claim.claim_number,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        claimed_amount=claim.claimed_amount,
        approved_amount=claim.approved_amount,
        adjuster_id=claim.adjuster_id,
        approved_by=by,
    )


def denied(claim: Claim, *, by: uuid.UUID) -> ClaimDenied:
    assert claim.denial_reason is not None
    return ClaimDenied(
        claim_id=claim.id,
        claim_number=claim.claim_number,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        reason=claim.denial_reason,
        adjuster_id=claim.adjuster_id,
        denied_by=by,
    )


def paid(claim: Claim) -> ClaimPaid:
    assert claim.approved_amount is not None and claim.paid_amount is not None and claim.paid_at is not None
    return ClaimPaid(
        claim_id=claim.id,
        claim_number=claim.claim_number,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        approved_amount=claim.approved_amount,
        paid_amount=claim.paid_amount,
        payment_reference=claim.payment_reference,
        paid_at=claim.paid_at,
    )


def document_added(claim: Claim, document: ClaimDocument, *, stored: StoredObject) -> ClaimDocumentAdded:
    return ClaimDocumentAdded(
        claim_id=claim.id,
        claim_number=claim.claim_number,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        document_id=document.id,
        object_key=stored.key,
        sha256=stored.sha256,
        content_type=stored.content_type,  # one of files.ACCEPTED (validated by the model)
        size=stored.size,
        name=document.name,
        document_type=document.document_type,
        uploaded_by=document.uploaded_by,
    )
