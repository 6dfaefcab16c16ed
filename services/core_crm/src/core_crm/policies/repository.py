"""Queries on policies and their terms."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import PolicyStatus
from aintech_shared.pagination import newest_first
from core_crm.policies.models import Policy, PolicyTerm


async def get(session: AsyncSession, policy_id: uuid.UUID, *, for_update: bool = False) -> Policy | None:
    query = select(Policy).where(Policy.id == policy_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def by_number(session: AsyncSession, number: str) -> Policy | None:
    return (await session.scalars(select(Policy).where(Policy.policy_number == number))).first()


async def live_of_carrier(session: AsyncSession, names: Sequence[str]) -> Sequence[Policy]:
    """Active or pending policies whose carrier is one of ``names`` (lower-case, trimmed)."""
    query = select(Policy).where(
        func.lower(func.trim(Policy.carrier)).in_(list(names)),
        Policy.status.in_([PolicyStatus.active.value, PolicyStatus.pending.value]),
    )
    return (await session.scalars(query)).all()


async def number_taken(session: AsyncSession, number: str) -> bool:
    return await session.scalar(select(Policy.id).where(Policy.policy_number == number)) is not None


async def add(session: AsyncSession, *rows: Policy | PolicyTerm) -> None:
    session.add_all(rows)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def terms(session: AsyncSession, policy_id: uuid.UUID) -> Sequence[PolicyTerm]:
    rows = await session.scalars(
        select(PolicyTerm).where(PolicyTerm.policy_id == policy_id).order_by(PolicyTerm.term_number)
    )
    return rows.all()


async def current_term(session: AsyncSession, policy_id: uuid.UUID, term_number: int) -> PolicyTerm | None:
    query = select(PolicyTerm).where(PolicyTerm.policy_id == policy_id, PolicyTerm.term_number == term_number)
    return (await session.scalars(query.with_for_update())).first()


async def term_on(session: AsyncSession, policy_id: uuid.UUID, on: date) -> PolicyTerm | None:
    """The term whose [start, end) contains ``on``."""
    return (
        await session.scalars(
            select(PolicyTerm).where(
                PolicyTerm.policy_id == policy_id, PolicyTerm.start_date <= on, PolicyTerm.end_date > on
            )
        )
    ).first()


async def search(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    policy_type: str | None,
    statuses: Sequence[str] | None,
    carrier: str | None,
    text: str | None,
    ending_between: tuple[date, date] | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Policy], list[Any] | None]:
    """Newest first; ``text`` matches a policy-number prefix or a vehicle plate."""
    conditions: list[ColumnElement[bool]] = []
    if customer_id is not None:
        conditions.append(Policy.customer_id == customer_id)
    if policy_type:
        conditions.append(Policy.policy_type == policy_type)
    if statuses:
        conditions.append(Policy.status.in_(statuses))
    if carrier:
        conditions.append(func.lower(Policy.carrier) == carrier.lower())
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        plate = "".join(c for c in text if c.isalnum()).upper()
        conditions.append(
            or_(Policy.policy_number.like(f"{escaped}%", escape="\\"), Policy.vehicle_plate == plate)
        )
    if ending_between is not None:
        conditions.append(Policy.coverage_end_date.between(*ending_between))
    return await newest_first(
        session, Policy, at=Policy.created_at, id_=Policy.id, conditions=conditions, after=after, limit=limit
    )


async def expiring(session: AsyncSession, *, start: date, end: date, limit: int) -> Sequence[Policy]:
    rows = await session.scalars(
        select(Policy)
        .where(Policy.status == PolicyStatus.active, Policy.coverage_end_date.between(start, end))
        .order_by(Policy.coverage_end_date, Policy.id)
        .limit(limit)
    )
    return rows.all()


async def to_warn(session: AsyncSession, *, today: date, until: date, limit: int) -> Sequence[Policy]:
    """Active policies ending by ``until`` whose current term was not announced yet (locked)."""
    rows = await session.scalars(
        select(Policy)
        .where(
            Policy.status == PolicyStatus.active,
            Policy.coverage_end_date >= today,
            Policy.coverage_end_date <= until,
            or_(Policy.expiry_notified_for.is_(None), Policy.expiry_notified_for != Policy.coverage_end_date),
        )
        .order_by(Policy.coverage_end_date, Policy.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return rows.all()


async def expire_ended(session: AsyncSession, *, today: date) -> int:
    """Mark active policies whose term ended before ``today`` as expired."""
    result = await session.execute(
        update(Policy)
        .where(Policy.status == PolicyStatus.active, Policy.coverage_end_date <= today)
        .values(status=PolicyStatus.expired, version=Policy.version + 1, updated_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def for_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Policy]:
    rows = await session.scalars(
        select(Policy).where(Policy.customer_id == customer_id).order_by(Policy.created_at)
    )
    return rows.all()
