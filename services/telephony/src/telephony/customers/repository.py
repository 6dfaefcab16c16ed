"""Every query on the customer read model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from telephony.customers.models import Customer, OpenClaim

# Statuses of customers who can no longer be matched to a call.
GONE = ("erased", "deleted", "merged")


@dataclass(frozen=True)
class CallerProfile:
    """What routing knows about a caller."""

    customer_id: uuid.UUID
    first_name: str
    segment: str | None
    preferred_language: str
    open_claims: int


async def upsert(session: AsyncSession, values: dict[str, Any], *, version: int) -> None:
    """Insert or refresh a customer; an older version never overwrites a newer one."""
    stmt = insert(Customer).values(**values, version=version, updated_at=func.now())
    update: dict[str, Any] = {k: stmt.excluded[k] for k in (*values.keys(), "version") if k != "customer_id"}
    update["updated_at"] = func.now()
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["customer_id"], set_=update, where=Customer.version <= stmt.excluded.version
        )
    )


async def upsert_many(session: AsyncSession, rows: Sequence[tuple[dict[str, Any], int]]) -> None:
    """:func:`upsert` of each ``(values, version)`` in order, in one statement: per customer only
    the row that the one-by-one upserts would leave (the highest version, the latest of equal
    ones), since one statement may not write a row twice."""
    final: dict[Any, tuple[dict[str, Any], int]] = {}
    for values, version in rows:
        kept = final.get(values["customer_id"])
        if kept is None or version >= kept[1]:
            final[values["customer_id"]] = (values, version)
    if not final:
        return
    stmt = insert(Customer).values(
        [{**values, "version": version, "updated_at": func.now()} for values, version in final.values()]
    )
    columns = next(iter(final.values()))[0].keys()
    update: dict[str, Any] = {k: stmt.excluded[k] for k in (*columns, "version") if k != "customer_id"}
    update["updated_at"] = func.now()
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["customer_id"], set_=update, where=Customer.version <= stmt.excluded.version
        )
    )


async def delete_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    await session.execute(delete(Customer).where(Customer.customer_id == customer_id))
    await session.execute(delete(OpenClaim).where(OpenClaim.customer_id == customer_id))


async def move_claims(session: AsyncSession, *, source: uuid.UUID, target: uuid.UUID) -> None:
    await session.execute(update(OpenClaim).where(OpenClaim.customer_id == source).values(customer_id=target))


async def open_claim(
    session: AsyncSession, *, claim_id: uuid.UUID, customer_id: uuid.UUID, number: str, status: str
) -> None:
    stmt = insert(OpenClaim).values(
        claim_id=claim_id, customer_id=customer_id, claim_number=number[:50], status=status[:30]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["claim_id"],
            set_={
                "status": stmt.excluded.status,
                "customer_id": stmt.excluded.customer_id,
                "updated_at": func.now(),
            },
        )
    )


async def close_claim(session: AsyncSession, *, claim_id: uuid.UUID) -> None:
    await session.execute(delete(OpenClaim).where(OpenClaim.claim_id == claim_id))


def _claims_count() -> Any:
    return (
        select(func.count())
        .select_from(OpenClaim)
        .where(OpenClaim.customer_id == Customer.customer_id)
        .scalar_subquery()
    )


async def profile(session: AsyncSession, customer_id: uuid.UUID) -> CallerProfile | None:
    """A known customer's routing facts."""
    row = (
        await session.execute(
            select(
                Customer.customer_id,
                Customer.first_name,
                Customer.segment,
                Customer.preferred_language,
                _claims_count().label("open_claims"),
            ).where(Customer.customer_id == customer_id)
        )
    ).first()
    if row is None:
        return None
    return CallerProfile(
        customer_id=row.customer_id,
        first_name=row.first_name,
        segment=row.segment,
        preferred_language=row.preferred_language,
        open_claims=int(row.open_claims or 0),
    )


async def by_phone(session: AsyncSession, phone: str) -> CallerProfile | None:
    """The one live customer behind an E.164 number (phone or mobile), with their open-claim count;
    None when nobody or several live customers have it (a number identifies one person or nobody)."""
    claims = _claims_count()
    rows = (
        await session.execute(
            select(
                Customer.customer_id,
                Customer.first_name,
                Customer.segment,
                Customer.preferred_language,
                claims.label("open_claims"),
            )
            .where(or_(Customer.phone == phone, Customer.mobile == phone), Customer.status.not_in(GONE))
            .limit(2)
        )
    ).all()
    if len(rows) != 1:
        return None  # nobody, or a number several customers share: the call is unmatched, an agent chooses
    row = rows[0]
    return CallerProfile(
        customer_id=row.customer_id,
        first_name=row.first_name,
        segment=row.segment,
        preferred_language=row.preferred_language,
        open_claims=int(row.open_claims or 0),
    )


async def get(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    return await session.get(Customer, customer_id)
