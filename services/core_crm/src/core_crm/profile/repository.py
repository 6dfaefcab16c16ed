"""Queries across a customer's records (aggregates, moves for merges, anonymisation)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import PolicyStatus
from core_crm.claims.models import OPEN_STATUSES, Claim
from core_crm.intake.models import UnmatchedInteraction
from core_crm.interactions.models import Interaction
from core_crm.policies.models import Policy, PolicyTerm
from core_crm.quotes.models import Quote
from core_crm.renewals.models import RenewalConfirmation
from core_crm.tasks.models import OPEN_TASK_STATUSES, Task

_PER_YEAR = case(
    (Policy.premium_frequency == "monthly", 12),
    (Policy.premium_frequency == "quarterly", 4),
    (Policy.premium_frequency == "semiannual", 2),
    else_=1,
)
_TERM_PER_YEAR = case(
    (PolicyTerm.premium_frequency == "monthly", 12),
    (PolicyTerm.premium_frequency == "quarterly", 4),
    (PolicyTerm.premium_frequency == "semiannual", 2),
    else_=1,
)


async def policy_figures(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Policy.status == PolicyStatus.active),
                func.coalesce(
                    func.sum(Policy.premium_amount * _PER_YEAR).filter(Policy.status == PolicyStatus.active),
                    0,
                ),
                func.count().filter(
                    Policy.status.in_((PolicyStatus.active, PolicyStatus.expired, PolicyStatus.cancelled))
                ),
            ).where(Policy.customer_id == customer_id)
        )
    ).one()
    by_type = await session.execute(
        select(Policy.policy_type, func.count())
        .where(Policy.customer_id == customer_id)
        .group_by(Policy.policy_type)
    )
    return {
        "total": int(row[0]),
        "active": int(row[1]),
        "annual_premium": Decimal(row[2]),
        "ever_in_force": int(row[3]),
        "by_type": {r[0]: int(r[1]) for r in by_type},
    }


async def claim_figures(session: AsyncSession, customer_id: uuid.UUID, *, since: datetime) -> dict[str, Any]:
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Claim.status.in_(OPEN_STATUSES)),
                func.count().filter(Claim.incident_date >= since),
                func.coalesce(func.sum(Claim.claimed_amount), 0),
                func.coalesce(func.sum(Claim.paid_amount), 0),
            ).where(Claim.customer_id == customer_id)
        )
    ).one()
    return {
        "total": int(row[0]),
        "open": int(row[1]),
        "recent": int(row[2]),
        "claimed": Decimal(row[3] or 0),
        "paid": Decimal(row[4] or 0),
    }


async def other_figures(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, Any]:
    quotes = (
        await session.execute(
            select(func.count(), func.count().filter(Quote.converted.is_(True))).where(
                Quote.customer_id == customer_id
            )
        )
    ).one()
    interactions = (
        await session.execute(
            select(func.count(), func.max(Interaction.occurred_at)).where(
                Interaction.customer_id == customer_id
            )
        )
    ).one()
    open_tasks = await session.scalar(
        select(func.count()).where(Task.customer_id == customer_id, Task.status.in_(OPEN_TASK_STATUSES))
    )
    return {
        "quotes": int(quotes[0]),
        "quotes_converted": int(quotes[1]),
        "interactions": int(interactions[0]),
        "last_interaction_at": interactions[1],
        "open_tasks": int(open_tasks or 0),
    }


async def premium_earned(session: AsyncSession, customer_id: uuid.UUID, *, today: date) -> Decimal:
    """Annualised premium of every term, pro rata to the days in force up to today (or cancellation)."""
    terms = await session.execute(
        select(
            PolicyTerm.start_date,
            PolicyTerm.end_date,
            PolicyTerm.premium_amount * _TERM_PER_YEAR,
            Policy.cancelled_at,
            Policy.status,
        )
        .join(Policy, Policy.id == PolicyTerm.policy_id)
        .where(Policy.customer_id == customer_id)
    )
    total = Decimal(0)
    for start, end, annual, cancelled_at, status in terms:
        if status == "pending":
            continue
        stop = min(end, today)
        if cancelled_at is not None:
            stop = min(stop, cancelled_at.date())
        days = (stop - start).days
        if days > 0:
            total += Decimal(annual) * Decimal(days) / Decimal(365)
    return total


async def has_live_business(session: AsyncSession, customer_id: uuid.UUID) -> tuple[int, int]:
    """Active or pending policies, and open claims, of a customer."""
    policies = await session.scalar(
        select(func.count()).where(
            Policy.customer_id == customer_id, Policy.status.in_((PolicyStatus.active, PolicyStatus.pending))
        )
    )
    claims = await session.scalar(
        select(func.count()).where(Claim.customer_id == customer_id, Claim.status.in_(OPEN_STATUSES))
    )
    return int(policies or 0), int(claims or 0)


async def move_records(session: AsyncSession, *, source: uuid.UUID, target: uuid.UUID) -> dict[str, int]:
    """Re-point every policy, claim, quote, interaction, task, renewal confirmation and linked
    contact of ``source`` to ``target``."""
    moved: dict[str, int] = {}
    for name, model in (
        ("policies", Policy),
        ("claims", Claim),
        ("quotes", Quote),
        ("interactions", Interaction),
        ("tasks", Task),
        ("renewal_confirmations", RenewalConfirmation),
        ("linked_contacts", UnmatchedInteraction),
    ):
        result = await session.execute(
            update(model).where(model.customer_id == source).values(customer_id=target)
        )
        moved[name] = int(getattr(result, "rowcount", 0) or 0)
    return moved
