"""Fraud on claims in the CRM: keep each claim's latest score; open a supervisor's investigation
task on an alert. The score is staff-only (`fraud:review`), never shown to a customer, and the task
says only that the claim is to be investigated (its reasons stay in ai-fraud, behind the same
permission)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.fraud import FraudAlert, FraudScored
from aintech_contracts.statuses import TaskPriority
from aintech_shared.errors import NotFound
from core_crm.claims import repository as claims
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.fraud import repository
from core_crm.fraud.models import ClaimFraudScore
from core_crm.tasks import service as tasks
from core_crm.tasks.models import Task

log = structlog.get_logger("crm.fraud")

INVESTIGATION = "fraud_investigation"


async def record_score(session: AsyncSession, *, data: FraudScored, event_id: str) -> None:
    """The claim's latest score and band (a late, older score does not replace a newer one)."""
    if await claims.get(session, data.claim_id) is None:
        log.info("fraud_score_for_unknown_claim", claim_id=str(data.claim_id))
        return
    await repository.upsert_newer(
        session,
        {
            "claim_id": data.claim_id,
            "score": data.score,
            "band": data.band,
            "scored_at": data.scored_at,
            "model_version": data.model_version,
            "event_id": event_id[:100],
        },
    )


async def open_investigation(
    session: AsyncSession, *, rt: Runtime, data: FraudAlert, event_id: str
) -> Task | None:
    """One investigation task per alert (keyed by the event id), for the active supervisor with the
    fewest open investigations (ties: lowest id); unassigned when no supervisor is known."""
    claim = await claims.get(session, data.claim_id)
    if claim is None:
        log.info("fraud_alert_for_unknown_claim", claim_id=str(data.claim_id))
        return None
    supervisors = await repository.active_supervisors(session)
    assignee = None
    if supervisors:
        load = await repository.open_tasks_per_assignee(session, supervisors, task_type=INVESTIGATION)
        assignee = min(supervisors, key=lambda s: (load.get(s, 0), str(s)))
    task = await tasks.create_task(
        session,
        rt=rt,
        title=f"Investigar el siniestro {claim.claim_number} (alerta de fraude)",
        description="ai-fraud ha puesto este siniestro en la banda alta. La puntuación y sus motivos "
        "están en ai-fraud (`GET /api/fraud/score/{claim_id}`, permiso fraud:review).",
        task_type=INVESTIGATION,
        priority=TaskPriority.high,
        assigned_to=assignee,
        created_by=None,
        customer_id=claim.customer_id,
        policy_id=claim.policy_id,
        claim_id=claim.id,
        due_date=utcnow() + timedelta(days=2),
        tags=["fraud"],
        metadata={"fraud_event_id": event_id},
        dedupe_key=f"fraud-alert:{event_id}"[:200],
    )
    await repository.mark_alerted(session, claim.id, data.scored_at)
    return task


async def claim_score(session: AsyncSession, *, claim_id: uuid.UUID) -> ClaimFraudScore:
    """The latest score of a claim (404 when the claim has none yet)."""
    score = await repository.get(session, claim_id)
    if score is None:
        raise NotFound("This claim has no fraud score yet.")
    return score
