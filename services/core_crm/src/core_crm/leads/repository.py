"""The queries of inbound leads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import keyset_page
from core_crm.core.base import utcnow
from core_crm.customers.models import CLOSED_STATUSES, Customer
from core_crm.interactions.models import Interaction
from core_crm.leads.models import Lead, LeadScore
from core_crm.leads.scoring import Facts
from core_crm.quotes.models import Quote


async def seen(session: AsyncSession, signature_digest: str) -> bool:
    return await session.scalar(select(Lead.id).where(Lead.signature_digest == signature_digest)) is not None


async def add(session: AsyncSession, lead: Lead) -> None:
    session.add(lead)
    await session.flush()


async def facts(session: AsyncSession, customer_id: uuid.UUID) -> Facts | None:
    """What the score is computed from; None for a customer who is not live."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.status in CLOSED_STATUSES:
        return None
    source = await session.scalar(
        select(Lead.source).where(Lead.customer_id == customer_id).order_by(Lead.received_at.desc()).limit(1)
    )
    replies = await session.scalar(
        select(func.count()).where(
            Interaction.customer_id == customer_id,
            Interaction.direction == "inbound",
            Interaction.type.in_(("email", "sms", "whatsapp", "chat")),
        )
    )
    calls = await session.scalar(
        select(func.count()).where(Interaction.customer_id == customer_id, Interaction.type == "call")
    )
    quotes = await session.scalar(select(func.count()).where(Quote.customer_id == customer_id))
    return Facts(
        source=source or customer.lead_source,
        details={
            "email": bool(customer.email),
            "phone": bool(customer.phone),
            "mobile": bool(customer.mobile),
            "dni": bool(customer.dni),
            "postal_code": bool(customer.postal_code),
        },
        replies=int(replies or 0),
        quotes=int(quotes or 0),
        calls=int(calls or 0),
    )


async def is_scored(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    return (
        await session.scalar(select(LeadScore.customer_id).where(LeadScore.customer_id == customer_id))
        is not None
    )


async def save_score(
    session: AsyncSession, customer_id: uuid.UUID, score: int, reasons: list[dict[str, Any]]
) -> None:
    table = cast(Table, LeadScore.__table__)
    await session.execute(
        insert(table)
        .values(customer_id=customer_id, score=score, reasons=reasons, updated_at=utcnow())
        .on_conflict_do_update(
            index_elements=["customer_id"], set_={"score": score, "reasons": reasons, "updated_at": utcnow()}
        )
    )


async def score_of(session: AsyncSession, customer_id: uuid.UUID) -> LeadScore | None:
    return await session.get(LeadScore, customer_id)


async def ranked(
    session: AsyncSession, *, statuses: Sequence[str], min_score: int, after: list[Any] | None, limit: int
) -> tuple[list[Any], list[Any] | None]:
    """Scored live customers, best first (score, then id, descending)."""
    query = (
        select(
            LeadScore.customer_id,
            LeadScore.score,
            LeadScore.reasons,
            LeadScore.updated_at,
            Customer.first_name,
            Customer.last_name,
            Customer.email,
            Customer.mobile,
            Customer.phone,
            Customer.status,
            Customer.lead_source,
            Customer.owner_id,
        )
        .join(Customer, Customer.id == LeadScore.customer_id)
        .where(Customer.status.in_(statuses), LeadScore.score >= min_score)
    )
    return await keyset_page(
        session, query, keys=(LeadScore.score, LeadScore.customer_id), after=after, limit=limit, scalars=False
    )
