"""Use cases spanning domains: score a claim, and open a review case when it enters the high band;
rescore a policy's open claims when the policy reaches the read model after them; check a photo
uploaded to the CRM and rescore its claim."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.cases import service as cases
from ai_fraud.core.runtime import Runtime
from ai_fraud.photos import service as photos
from ai_fraud.readmodel import service as readmodel
from ai_fraud.scoring import service as scoring
from aintech_contracts.events.crm import ClaimDocumentAdded, PolicyCreated, PolicyRenewed
from aintech_shared.errors import UnprocessableEntity

log = structlog.get_logger("ai_fraud.flows")


async def score_and_queue(
    session: AsyncSession, *, rt: Runtime, claim_id: uuid.UUID, trigger: str
) -> scoring.Result:
    result = await scoring.score_claim(session, rt=rt, claim_id=claim_id, trigger=trigger)
    if result.band == "high":
        await cases.open_case(session, claim_id=claim_id, actor=None, score=result.score, band=result.band)
    return result


async def policy_arrived(
    session: AsyncSession, *, rt: Runtime, data: PolicyCreated | PolicyRenewed, trigger: str
) -> list[scoring.Result]:
    """A policy new to the read model (or whose type, dates or coverage changed): its claims still
    open were scored without it (no early-claim or amount-near-limit signal), so each is rescored
    in this same transaction — published as `fraud.scored`, and `fraud.alert` if it now enters the
    high band for the first time. Policy and claim events travel on different topics, so a claim
    often reaches ai-fraud before its policy."""
    if not await readmodel.apply_policy(session, data=data):
        return []
    claim_ids = await readmodel.open_claims_of_policy(session, policy_id=data.policy_id)
    if claim_ids:
        log.info("rescoring_for_policy", policy_id=str(data.policy_id), claims=len(claim_ids))
    return [await score_and_queue(session, rt=rt, claim_id=c, trigger=trigger) for c in claim_ids]


async def document_added(
    session: AsyncSession, *, rt: Runtime, data: ClaimDocumentAdded
) -> scoring.Result | None:
    """A file uploaded to a claim in the CRM: a photo is fetched from the object store and checked
    (near-duplicates, EXIF) like one uploaded here; then the claim is rescored.

    A claim the read model does not know is left alone (its `claim.created` precedes this event on
    the same partition, so that only happens for claims older than ai-fraud). A file that claims to
    be an image but cannot be decoded (or is a decompression bomb) is not a photo finding: the claim
    is rescored without it.
    """
    if await readmodel.facts_of(session, claim_id=data.claim_id) is None:
        log.warning("document_for_unknown_claim", claim_id=str(data.claim_id), document=str(data.document_id))
        return None
    if data.content_type in photos.PHOTO_TYPES:
        raw = await photos.fetch_stored(rt, key=data.object_key, sha256=data.sha256, size=data.size)
        if raw is None:
            log.warning("photo_too_large_to_check", claim_id=str(data.claim_id), size=data.size)
        else:
            try:
                await photos.add_photo(session, rt=rt, claim_id=data.claim_id, data=raw)
            except UnprocessableEntity as refused:
                log.warning("photo_not_checked", claim_id=str(data.claim_id), reason=refused.detail)
    return await score_and_queue(
        session, rt=rt, claim_id=data.claim_id, trigger=ClaimDocumentAdded.event_type
    )
