"""A claim's fraud score as the CRM shows it: staff with `fraud:review` only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from aintech_contracts.rbac import Permission
from aintech_shared.db import ReadSession
from aintech_shared.errors import responses
from core_crm.customers.access import Viewer, staff
from core_crm.fraud import service

router = APIRouter(prefix="/claims", tags=["claims"])

Investigator = Annotated[Viewer, Depends(staff(Permission.fraud_review))]


class FraudScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    claim_id: uuid.UUID
    score: int = Field(ge=0, le=100)
    band: Literal["low", "review", "high"]
    scored_at: datetime
    model_version: int | None
    alerted_at: datetime | None = Field(description="When the claim last entered the high band.")


@router.get(
    "/{claim_id}/fraud",
    response_model=FraudScoreOut,
    summary="The claim's latest fraud score and band",
    description="From ai-fraud's `fraud.scored` events. Staff with `fraud:review` (supervisors, admins) "
    "only; customers and agents get 403. The reasons are in ai-fraud (`GET /api/fraud/score/{claim_id}`).",
    responses=responses(
        (401, "Missing or invalid access token"),
        (403, "Needs fraud:review"),
        (404, "No score for this claim yet", "This claim has no fraud score yet."),
    ),
)
async def claim_fraud(claim_id: uuid.UUID, _: Investigator, db: ReadSession) -> FraudScoreOut:
    return FraudScoreOut.model_validate(await service.claim_score(db, claim_id=claim_id))
