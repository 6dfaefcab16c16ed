"""The explained score of a claim: rules, model and ring, combined into one number 0-100.

Each part brings points (a firing rule its weight; the model its calibrated probability times
``model_weight``; the ring points by its size and share of flagged claims), combined as
independent evidence: ``100 * (1 - prod(1 - points/100))``, so the score never passes 100 and
no single weak signal dominates. Bands: below ``review_threshold`` low, from ``high_threshold``
high. Every part carries its reason in Spanish and English and its evidence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.base import utcnow
from ai_fraud.core.features import FeatureVector, model_row
from ai_fraud.core.runtime import Runtime
from ai_fraud.models_registry import service as registry
from ai_fraud.photos import service as photos
from ai_fraud.readmodel import service as readmodel
from ai_fraud.readmodel.service import ClaimFacts
from ai_fraud.rings import service as rings
from ai_fraud.rules import service as rules
from ai_fraud.scoring import repository
from ai_fraud.scoring.models import Score
from aintech_contracts.events.fraud import FraudAlert, FraudScored, ScorePart
from aintech_shared.errors import NotFound


@dataclass
class Result:
    claim_id: uuid.UUID | None
    claim_number: str | None
    customer_id: uuid.UUID | None
    score: int
    band: str
    parts: list[dict[str, Any]]
    features: dict[str, Any]
    model_version: int | None
    ring_id: uuid.UUID | None
    scored_at: datetime
    language: str | None = None  # the customer's preferred language, when the score read it


def band_of(score: int, rt: Runtime) -> str:
    if score >= rt.settings.high_threshold:
        return "high"
    if score >= rt.settings.review_threshold:
        return "review"
    return "low"


def summary(result: Result, language: str) -> str:
    """One line an investigator reads first, in Spanish or English."""
    parts = sorted(result.parts, key=lambda p: -p["points"])[:3]
    reasons = "; ".join(p["reason_en" if language == "en" else "reason_es"] for p in parts)
    if language == "en":
        band = {"low": "low risk", "review": "needs review", "high": "high risk"}[result.band]
        return f"Score {result.score}/100 ({band})" + (f": {reasons}." if reasons else ": no signal.")
    band = {"low": "riesgo bajo", "review": "requiere revisión", "high": "riesgo alto"}[result.band]
    return f"Puntuación {result.score}/100 ({band})" + (f": {reasons}." if reasons else ": ninguna señal.")


async def _flagged(session: AsyncSession, claim_ids: list[uuid.UUID]) -> dict[str, str]:
    """The bands of those of ``claim_ids`` scored review or high (a ring's claims only)."""
    query = select(Score.claim_id, Score.band).where(Score.claim_id.in_(claim_ids), Score.band != "low")
    rows = await session.execute(query)
    return {str(c): b for c, b in rows.all()}


@dataclass
class Ahead:
    """What scoring's one statement read besides the claim's facts (see ``scoring.repository``)."""

    features: FeatureVector  # without the ring's
    first_hop: rings.FirstHop
    rules_generation: int | None
    model_version: int | None
    photo_findings: list[list[dict[str, Any]]]
    previous_band: str | None
    language: str


async def evaluate(
    session: AsyncSession, *, rt: Runtime, facts: ClaimFacts, ahead: Ahead | None = None
) -> Result:
    """Score a claim's facts (nothing stored). ``ahead``: what a saved claim's score already read."""
    if ahead is not None:
        features = ahead.features
    else:
        features = await readmodel.features_of(session, facts=facts)
    ring = await rings.ring_around(
        session,
        customer_id=facts.customer_id,
        claim_identifiers=readmodel.identifiers_for_facts(facts),
        max_share=rt.settings.ring_max_identifier_share,
        max_nodes=rt.settings.ring_max_nodes,
        flagged=_flagged,
        first_hop=ahead.first_hop if ahead is not None else None,
    )
    features["ring_customers"] = float(max(1, ring.size))
    features["ring_claims"] = ring.features.get("claims")
    features["ring_flagged_share"] = ring.features.get("flagged_share")
    parts: list[dict[str, Any]] = []
    if ahead is not None:
        firings = await rules.fire_at(
            session, features=features, generation=ahead.rules_generation, caches=rt.caches
        )
    else:
        firings = await rules.fire(session, features=features)
    for firing in firings:
        parts.append(
            {
                "kind": "rule",
                "code": firing.code,
                "points": float(firing.weight),
                "reason_es": f"Regla «{firing.name_es}»",
                "reason_en": f"Rule “{firing.name_en}”",
                "evidence": {"rule_version": firing.version},
            }
        )
    if ahead is not None:
        model_version, predictor = await registry.predictor_at(session, rt=rt, version=ahead.model_version)
    else:
        model_version, predictor = await registry.active_predictor(session, rt=rt)
    if predictor is not None:
        probability, contributions = predictor.explain(model_row(features))
        top = ", ".join(c["es"] for c in contributions[:2] if c["contribution"] > 0)
        top_en = ", ".join(c["en"] for c in contributions[:2] if c["contribution"] > 0)
        parts.append(
            {
                "kind": "model",
                "code": f"model_v{model_version}",
                "points": round(100 * probability * rt.settings.model_weight, 1),
                "reason_es": f"Modelo v{model_version}: probabilidad {probability:.0%}"
                + (f" (sobre todo {top})" if top else ""),
                "reason_en": f"Model v{model_version}: probability {probability:.0%}"
                + (f" (mostly {top_en})" if top_en else ""),
                "evidence": {
                    "probability": round(probability, 4),
                    "contributions": contributions,
                    "contributions_method": predictor.contributions_method,
                },
            }
        )
    if ring.ring_id is not None:
        points = min(60.0, 15.0 * (ring.size - 1) + 20.0 * ring.features.get("flagged_share", 0.0))
        kinds = sorted({link["kind"] for link in ring.links})
        parts.append(
            {
                "kind": "ring",
                "code": "ring",
                "points": round(points, 1),
                "reason_es": f"Red de {ring.size} clientes que comparten {', '.join(kinds)}",
                "reason_en": f"Ring of {ring.size} customers sharing {', '.join(kinds)}",
                "evidence": {"ring_id": str(ring.ring_id), **ring.features},
            }
        )
        if facts.claim_id is not None:
            await rings.remember(session, ring)
    if ahead is not None:
        parts.extend(photos.parts_of_findings(ahead.photo_findings))
    elif facts.claim_id is not None:
        parts.extend(photos.score_parts(await photos.photos_of(session, claim_id=facts.claim_id)))
    remaining = 1.0
    for part in parts:
        remaining *= 1 - min(100.0, max(0.0, part["points"])) / 100
    score = round(100 * (1 - remaining))
    return Result(
        claim_id=facts.claim_id,
        claim_number=facts.claim_number,
        customer_id=facts.customer_id,
        score=score,
        band=band_of(score, rt),
        parts=parts,
        features=features,
        model_version=model_version if predictor is not None else None,
        ring_id=ring.ring_id,
        scored_at=utcnow(),
        language=ahead.language if ahead is not None else None,
    )


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _read_ahead(claim_id: uuid.UUID, row: Any) -> tuple[ClaimFacts, Ahead]:
    """The claim's facts and the rest of what scoring's one statement read."""
    facts = ClaimFacts(
        claim_id=claim_id,
        claim_number=row["claim_number"],
        customer_id=_uuid(row["customer_id"]),
        policy_id=_uuid(row["policy_id"]),
        claim_type=row["claim_type"],
        incident_date=row["incident_date"],
        reported_at=row["reported_at"],
        claimed_amount=row["claimed_amount"],
        attributes=dict(row["attributes"]),
    )
    policy = (
        readmodel.PolicyFacts(
            row["policy_type"], row["coverage_start_date"], row["coverage_end_date"], row["coverage_amount"]
        )
        if row["has_policy"]
        else None
    )
    customer = (
        readmodel.CustomerFacts(row["iban_changed_at"], row["address_changed_at"])
        if row["has_customer"]
        else None
    )
    features = readmodel.build_features(
        facts,
        policy=policy,
        customer=customer,
        prior_claims=int(row["prior_claims"]) if facts.customer_id is not None else None,
    )
    counts: dict[tuple[str, str], int] = {}
    shared = []
    for kind, value, holders, customer_id, owner_kind, owner_id in row["shared_identifiers"]:
        counts[(kind, value)] = int(holders)
        if customer_id is not None:
            shared.append((uuid.UUID(customer_id), owner_kind, uuid.UUID(owner_id), kind, value))
    own = [
        (uuid.UUID(customer_id), owner_kind, uuid.UUID(owner_id), kind, value)
        for customer_id, owner_kind, owner_id, kind, value in row["own_identifiers"]
    ]
    ahead = Ahead(
        features=features,
        first_hop=rings.FirstHop(customer_rows=own, shared_rows=shared, counts=counts),
        rules_generation=row["rules_generation"],
        model_version=row["model_version"],
        photo_findings=row["photo_findings"],
        previous_band=row["previous_band"],
        language=row["preferred_language"] or "es",
    )
    return facts, ahead


async def score_claim(session: AsyncSession, *, rt: Runtime, claim_id: uuid.UUID, trigger: str) -> Result:
    """Score a saved claim, store the score and publish ``fraud.scored`` (and ``fraud.alert`` when
    it enters the high band)."""
    await session.flush()  # the statements below run beside the session: they see flushed rows only
    conn = await repository.driver(session)
    # The policy's arrival waits for this score, or this score for it (then it sees the policy).
    await repository.lock_policy_of_claim(conn, claim_id)
    row = await repository.read_for_score(conn, claim_id, max_share=rt.settings.ring_max_identifier_share)
    if row is None:
        raise NotFound(f"Claim {claim_id} is not known to fraud scoring (yet).")
    facts, ahead = _read_ahead(claim_id, row)
    result = await evaluate(session, rt=rt, facts=facts, ahead=ahead)
    key = str(claim_id)
    _, event_args = rt.outbox.inline_args(
        FraudScored(
            claim_id=claim_id,
            claim_number=facts.claim_number,
            customer_id=facts.customer_id,
            score=result.score,
            band=result.band,
            previous_band=ahead.previous_band,
            parts=[ScorePart(**{k: v for k, v in p.items() if k != "evidence"}) for p in result.parts],
            model_version=result.model_version,
            ring_id=result.ring_id,
            trigger=trigger[:40],
            scored_at=result.scored_at,
        ),
        key=key,
    )
    await repository.store_score(
        conn,
        rt.outbox,
        values=(
            claim_id,
            facts.customer_id,
            result.score,
            result.band,
            result.parts,
            result.features,
            result.model_version,
            result.ring_id,
            trigger[:40],
            result.scored_at,
        ),
        event_args=event_args,
    )
    if result.band == "high" and await _first_alert(session, claim_id=claim_id, at=result.scored_at):
        await rt.outbox.publish(
            session,
            FraudAlert(
                claim_id=claim_id,
                claim_number=facts.claim_number,
                customer_id=facts.customer_id,
                score=result.score,
                summary_es=summary(result, "es"),
                summary_en=summary(result, "en"),
                ring_id=result.ring_id,
                scored_at=result.scored_at,
            ),
            key=key,
        )
    return result


async def _first_alert(session: AsyncSession, *, claim_id: uuid.UUID, at: datetime) -> bool:
    """Mark the claim alerted unless it already was: one `fraud.alert` per claim, whichever
    transaction (claim event, photo, late policy, analyze) gets there first."""
    marked = await session.scalar(
        update(Score)
        .where(Score.claim_id == claim_id, Score.alerted_at.is_(None))
        .values(alerted_at=at)
        .returning(Score.claim_id)
    )
    return marked is not None


async def stored_score(session: AsyncSession, *, claim_id: uuid.UUID) -> Result:
    row = await session.get(Score, claim_id)
    if row is None:
        raise NotFound(f"Claim {claim_id} has no fraud score.")
    return Result(
        claim_id=row.claim_id,
        claim_number=None,
        customer_id=row.customer_id,
        score=row.score,
        band=row.band,
        parts=row.parts,
        features=row.features,
        model_version=row.model_version,
        ring_id=row.ring_id,
        scored_at=row.scored_at,
    )


def draft_facts(draft: Any) -> ClaimFacts:
    now = utcnow()
    return ClaimFacts(
        claim_id=None,
        claim_number=None,
        customer_id=draft.customer_id,
        policy_id=draft.policy_id,
        claim_type=draft.claim_type,
        incident_date=draft.incident_date,
        reported_at=now,
        claimed_amount=draft.claimed_amount,
        attributes=dict(draft.attributes),
    )
