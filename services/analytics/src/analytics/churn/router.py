"""Churn: `POST /predict/churn`, `GET /predict/churn/model` (reached at `/api/analytics/...`)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from analytics.churn import service
from analytics.core.access import Reader
from analytics.core.runtime import RuntimeDep

router = APIRouter(tags=["churn"])

ERRORS = responses((403, "Not allowed to read analytics"), (422, "Too many or malformed customer ids"))


class ChurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[UUID] | None = Field(
        default=None,
        max_length=1000,
        description="The customers to score; omitted: every customer whose next renewal is within 90 days.",
    )
    publish: StrictBool = Field(
        default=False, description="Also publish `customer.churn_scored` for each score."
    )


class Factor(BaseModel):
    feature: str
    value: float
    contribution: float = Field(description="Probability this feature adds against the typical customer.")
    es: str
    en: str


class Action(BaseModel):
    code: str
    urgency: str = Field(description="urgent (critical), this_week (high), before_renewal (medium).")
    es: str
    en: str


class ChurnScore(BaseModel):
    customer_id: str
    probability: float = Field(description="Calibrated probability of leaving at the next renewal.")
    band: str = Field(description="critical > 0.7, high > 0.5, medium > 0.3, else low.")
    factors: list[Factor] = Field(description="The features that raise the risk most (top 3).")
    action: Action | None = Field(description="Recommended retention action; none for a low risk.")
    features: dict[str, float]
    next_renewal: date | None
    renewal_policy_id: str | None
    days_to_renewal: int | None


class ModelInfo(BaseModel):
    algorithm: str
    artifact_digest: str
    data_digest: str
    feature_digest: str
    features: list[str]
    training_source: str = Field(description="`store` (matured renewals) or `synthetic`.")
    training_rows: int
    metrics: dict[str, Any] = Field(
        description="Held-out ROC-AUC, Brier score, the best single feature's ROC-AUC."
    )
    caveat: str
    trained_at: str


class ChurnAnswer(BaseModel):
    scores: list[ChurnScore]
    missing: list[str] = Field(description="Requested customers the store holds no policy for.")
    published: int
    model: ModelInfo


@router.post(
    "/predict/churn",
    summary="Churn risk at the next renewal, with its top factors and a retention action",
    response_model=ChurnAnswer,
    responses=ERRORS,
)
async def predict_churn(rt: RuntimeDep, body: ChurnRequest, _: Reader, session: DbSession) -> ChurnAnswer:
    ids = [str(c) for c in dict.fromkeys(body.customer_ids)] if body.customer_ids is not None else None
    scores, record = await service.predict(rt.store, rt.settings, customer_ids=ids)
    published = await service.publish(session, rt.outbox, scores, record) if body.publish else 0
    found = {s["customer_id"] for s in scores}
    return ChurnAnswer.model_validate(
        {
            "scores": scores,
            "missing": [c for c in ids or [] if c not in found],
            "published": published,
            "model": record,
        }
    )


@router.get(
    "/predict/churn/model",
    summary="The churn model in use: training source, held-out metrics and their caveat",
    response_model=ModelInfo,
    responses=ERRORS,
)
async def churn_model(rt: RuntimeDep, _: Reader) -> ModelInfo:
    loaded = await service.active_model(rt.store, rt.settings)
    return ModelInfo.model_validate(loaded.record)
