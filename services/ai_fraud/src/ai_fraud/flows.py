"""Use cases spanning domains: score a claim, and open a review case when it enters the high band."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.cases import service as cases
from ai_fraud.core.runtime import Runtime
from ai_fraud.scoring import service as scoring


async def score_and_queue(
    session: AsyncSession, *, rt: Runtime, claim_id: uuid.UUID, trigger: str
) -> scoring.Result:
    result = await scoring.score_claim(session, rt=rt, claim_id=claim_id, trigger=trigger)
    if result.band == "high":
        await cases.open_case(session, claim_id=claim_id, actor=None, score=result.score, band=result.band)
    return result
