"""The review queue: cases opened on high scores or by hand, assigned, noted and closed with an
outcome (confirmed = fraud, dismissed = genuine) that becomes a training label."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.cases.models import CLOSED, TRANSITIONS, Case, CaseNote, CaseStatus
from ai_fraud.core.base import utcnow
from ai_fraud.core.features import MODEL_FEATURES, model_row
from ai_fraud.scoring.models import Score
from aintech_shared.errors import Conflict, NotFound


async def open_case(
    session: AsyncSession,
    *,
    claim_id: uuid.UUID,
    actor: uuid.UUID | None,
    score: int | None,
    band: str | None,
) -> Case:
    """The claim's case, opened if it has none (one case per claim)."""
    statement = insert(Case).values(
        id=uuid.uuid4(), claim_id=claim_id, status="open", score=score, band=band, opened_by=actor
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["claim_id"]))
    case = (await session.scalars(select(Case).where(Case.claim_id == claim_id))).one()
    return case


async def list_cases(
    session: AsyncSession, *, status: str | None, assigned_to: uuid.UUID | None, limit: int
) -> Sequence[Case]:
    query = select(Case).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)
    if status:
        query = query.where(Case.status == status)
    if assigned_to:
        query = query.where(Case.assigned_to == assigned_to)
    return (await session.scalars(query)).all()


async def get_case(session: AsyncSession, *, case_id: uuid.UUID, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update()
    case = (await session.scalars(query)).one_or_none()
    if case is None:
        raise NotFound(f"Case {case_id} does not exist.")
    return case


async def update_case(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    status: CaseStatus | None,
    assigned_to: uuid.UUID | None,
    outcome_reason: str | None,
) -> Case:
    """Move a case (legal transitions only) and/or assign it."""
    case = await get_case(session, case_id=case_id, lock=True)
    if status is not None and status != case.status:
        if status not in TRANSITIONS[CaseStatus(case.status)]:
            raise Conflict(f"A case cannot go from {case.status} to {status.value}.")
        case.status = status.value
        case.closed_at = utcnow() if status in CLOSED else None
    if assigned_to is not None:
        case.assigned_to = assigned_to
    if outcome_reason is not None:
        case.outcome_reason = outcome_reason
    case.version += 1
    case.updated_at = utcnow()
    await session.flush()
    return case


async def add_note(
    session: AsyncSession, *, case_id: uuid.UUID, author: uuid.UUID | None, body: str
) -> CaseNote:
    await get_case(session, case_id=case_id)
    note = CaseNote(case_id=case_id, author_id=author, body=body)
    session.add(note)
    await session.flush()
    return note


async def notes(session: AsyncSession, *, case_id: uuid.UUID) -> Sequence[CaseNote]:
    await get_case(session, case_id=case_id)
    query = select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.created_at)
    return (await session.scalars(query)).all()


async def labelled_examples(session: AsyncSession) -> tuple[np.ndarray, np.ndarray]:
    """Closed cases as training data: the claim's scored features, confirmed = 1, dismissed = 0."""
    query = (
        select(Score.features, Case.status)
        .join(Case, Case.claim_id == Score.claim_id)
        .where(Case.status.in_(("confirmed", "dismissed")))
    )
    rows = (await session.execute(query)).all()
    x = np.asarray([model_row(f) for f, _ in rows], dtype=float).reshape(-1, len(MODEL_FEATURES))
    y = np.asarray([1 if s == "confirmed" else 0 for _, s in rows], dtype=int)
    return x, y
