"""Queries on claims, their history, notes and documents."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.claims.models import OPEN_STATUSES, Claim, ClaimDocument, ClaimHistory, ClaimNote

ASSIGNMENT_LOCK = zlib.crc32(b"crm.claims.adjuster_assignment")


async def get(session: AsyncSession, claim_id: uuid.UUID, *, for_update: bool = False) -> Claim | None:
    query = select(Claim).where(Claim.id == claim_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, *rows: Claim | ClaimHistory | ClaimNote | ClaimDocument) -> None:
    session.add_all(rows)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def history(session: AsyncSession, claim_id: uuid.UUID) -> Sequence[ClaimHistory]:
    rows = await session.scalars(
        select(ClaimHistory)
        .where(ClaimHistory.claim_id == claim_id)
        .order_by(ClaimHistory.occurred_at, ClaimHistory.id)
    )
    return rows.all()


async def notes(session: AsyncSession, claim_id: uuid.UUID, *, include_internal: bool) -> Sequence[ClaimNote]:
    query = select(ClaimNote).where(ClaimNote.claim_id == claim_id)
    if not include_internal:
        query = query.where(ClaimNote.internal.is_(False))
    return (await session.scalars(query.order_by(ClaimNote.created_at, ClaimNote.id))).all()


async def documents(session: AsyncSession, claim_id: uuid.UUID) -> Sequence[ClaimDocument]:
    rows = await session.scalars(
        select(ClaimDocument).where(ClaimDocument.claim_id == claim_id).order_by(ClaimDocument.uploaded_at)
    )
    return rows.all()


async def document(
    session: AsyncSession, *, claim_id: uuid.UUID, document_id: uuid.UUID
) -> ClaimDocument | None:
    query = select(ClaimDocument).where(ClaimDocument.id == document_id, ClaimDocument.claim_id == claim_id)
    return (await session.scalars(query)).first()


async def search(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    policy_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    adjuster_id: uuid.UUID | None,
    number: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Claim], list[Any] | None]:
    conditions: list[ColumnElement[bool]] = []
    if customer_id is not None:
        conditions.append(Claim.customer_id == customer_id)
    if policy_id is not None:
        conditions.append(Claim.policy_id == policy_id)
    if statuses:
        conditions.append(Claim.status.in_(statuses))
    if adjuster_id is not None:
        conditions.append(Claim.adjuster_id == adjuster_id)
    if number:
        conditions.append(Claim.claim_number == number)
    return await newest_first(
        session, Claim, at=Claim.created_at, id_=Claim.id, conditions=conditions, after=after, limit=limit
    )


async def lock_assignments(session: AsyncSession) -> None:
    """Serialise adjuster choices for the rest of the transaction (so two claims see each other)."""
    await session.execute(select(func.pg_advisory_xact_lock(ASSIGNMENT_LOCK)))


async def open_claims_per_adjuster(
    session: AsyncSession, candidates: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Claim.adjuster_id, func.count())
        .where(Claim.adjuster_id.in_(candidates), Claim.status.in_(OPEN_STATUSES))
        .group_by(Claim.adjuster_id)
    )
    return {row[0]: int(row[1]) for row in rows if row[0] is not None}


async def for_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Claim]:
    rows = await session.scalars(
        select(Claim).where(Claim.customer_id == customer_id).order_by(Claim.created_at)
    )
    return rows.all()
