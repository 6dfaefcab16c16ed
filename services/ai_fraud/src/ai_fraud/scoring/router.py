"""Scores: analyse a claim (saved or not), read a claim's stored score."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from ai_fraud.core.access import Reviewer
from ai_fraud.core.runtime import RuntimeDep
from ai_fraud.readmodel import service as readmodel
from ai_fraud.scoring import service
from ai_fraud.scoring.schemas import AnalyzeRequest, ScoreOut
from aintech_shared.app import json_response
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.hot import hot_post

router = APIRouter(tags=["scores"])


def _out(result: service.Result, language: str, *, stored: bool) -> Response:
    """The ``ScoreOut`` of a result, rendered once with orjson (no model built and re-validated)."""
    key = "reason_en" if language == "en" else "reason_es"
    return json_response(
        {
            "claim_id": result.claim_id,
            "score": result.score,
            "band": result.band,
            "summary": service.summary(result, language),
            "parts": [
                {
                    "kind": p["kind"],
                    "code": p["code"],
                    "points": float(p["points"]),
                    "reason": p[key],
                    "reason_es": p["reason_es"],
                    "reason_en": p["reason_en"],
                    "evidence": p.get("evidence", {}),
                }
                for p in result.parts
            ],
            "features": result.features,
            "model_version": result.model_version,
            "ring_id": result.ring_id,
            "scored_at": result.scored_at,
            "stored": stored,
        }
    )


@hot_post(  # the body validated from its raw bytes, no per-request solving (decision 0076)
    router,
    "/analyze",
    summary="Score a saved claim (stored and published) or an unsaved one (nothing stored)",
    response_model=ScoreOut,
    responses=responses((404, "Unknown claim"), (422, "Neither or both of claim_id and claim")),
)
async def analyze(body: AnalyzeRequest, session: DbSession, rt: RuntimeDep, _: Reviewer) -> Response:
    if body.claim_id is not None:
        result = await service.score_claim(session, rt=rt, claim_id=body.claim_id, trigger="analyze")
        language = (
            body.language or result.language or await readmodel.language_of(session, result.customer_id)
        )
        return _out(result, language, stored=True)
    assert body.claim is not None
    result = await service.evaluate(session, rt=rt, facts=service.draft_facts(body.claim))
    return _out(result, body.language or "es", stored=False)


@router.get(
    "/score/{claim_id}",
    summary="A claim's latest explained score",
    response_model=ScoreOut,
    responses=responses((404, "The claim has no score")),
)
async def get_score(
    claim_id: uuid.UUID, session: ReadSession, _: Reviewer, language: str | None = None
) -> Response:
    result = await service.stored_score(session, claim_id=claim_id)
    lang = language if language in ("es", "en") else await readmodel.language_of(session, result.customer_id)
    return _out(result, lang, stored=True)
