"""Use cases spanning domains: score a claim, and open a review case when it enters the high band;
check a photo uploaded to the CRM and rescore its claim."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.cases import service as cases
from ai_fraud.core.runtime import Runtime
from ai_fraud.photos import service as photos
from ai_fraud.readmodel import service as readmodel
from ai_fraud.scoring import service as scoring
from aintech_contracts.events.crm import ClaimDocumentAdded
from aintech_shared.errors import UnprocessableEntity

log = structlog.get_logger("ai_fraud.flows")


async def score_and_queue(
    session: AsyncSession, *, rt: Runtime, claim_id: uuid.UUID, trigger: str
) -> scoring.Result:
    result = await scoring.score_claim(session, rt=rt, claim_id=claim_id, trigger=trigger)
    if result.band == "high":
        await cases.open_case(session, claim_id=claim_id, actor=None, score=result.score, band=result.band)
    return result


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
