"""Queries on customers and their audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.core.base import utcnow
from core_crm.customers.models import CLOSED_STATUSES, Customer, CustomerAudit

SORTS: dict[str, tuple[Any, bool]] = {
    "-created_at": (Customer.created_at, True),
    "created_at": (Customer.created_at, False),
    "last_name": (Customer.last_name, False),
    "-last_name": (Customer.last_name, True),
}


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get(session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
    query = select(Customer).where(Customer.id == customer_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def lock_many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """Lock several customers in id order (a fixed order, so two merges cannot deadlock)."""
    rows = await session.scalars(
        select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update()
    )
    return {row.id: row for row in rows}


async def by_user(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    """The live customer linked to an account."""
    return await session.scalar(
        select(Customer.id).where(Customer.user_id == user_id, Customer.status.not_in(CLOSED_STATUSES))
    )


async def live_by_email(session: AsyncSession, email: str) -> Customer | None:
    return (
        await session.scalars(
            select(Customer).where(
                func.lower(Customer.email) == email.lower(), Customer.status.not_in(CLOSED_STATUSES)
            )
        )
    ).first()


async def live_by_phone(session: AsyncSession, phone: str) -> Customer | None:
    return (
        await session.scalars(
            select(Customer)
            .where(
                or_(Customer.mobile == phone, Customer.phone == phone),
                Customer.status.not_in(CLOSED_STATUSES),
            )
            .order_by(Customer.created_at)
        )
    ).first()


async def live_by_dni(session: AsyncSession, dni: str) -> Customer | None:
    return (
        await session.scalars(
            select(Customer).where(Customer.dni == dni, Customer.status.not_in(CLOSED_STATUSES))
        )
    ).first()


async def add(session: AsyncSession, customer: Customer) -> None:
    session.add(customer)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


def _keyset(column: Any, descending: bool, values: list[Any]) -> ColumnElement[bool]:
    value, last_id = values
    key = tuple_(column, Customer.id)
    bound = tuple_(value, last_id)
    return key < bound if descending else key > bound


def search_statement(
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    tax_id: str | None,
    statuses: Sequence[str] | None,
    segment: str | None,
    province: str | None,
    tag: str | None,
    owner_id: uuid.UUID | None,
    only_id: uuid.UUID | None,
    sort: str,
    after: list[Any] | None,
    limit: int,
) -> Select[Any]:
    """The search query (also compiled by the benchmark for EXPLAIN ANALYZE)."""
    column, descending = SORTS[sort]
    conditions: list[ColumnElement[bool]] = []
    if name:
        conditions.append(Customer.search_text.like(f"%{escape_like(name)}%", escape="\\"))
    if email:
        conditions.append(func.lower(Customer.email).like(f"{escape_like(email.lower())}%", escape="\\"))
    if phone:
        conditions.append(or_(Customer.phone == phone, Customer.mobile == phone))
    if tax_id:
        conditions.append(or_(Customer.dni == tax_id, Customer.tax_id == tax_id))
    if statuses:
        conditions.append(Customer.status.in_(statuses))
    else:
        conditions.append(Customer.status.not_in(CLOSED_STATUSES))
    if segment:
        conditions.append(Customer.segment == segment)
    if province:
        conditions.append(Customer.province == province)
    if tag:
        conditions.append(Customer.tags.contains([tag]))
    if owner_id:
        conditions.append(Customer.owner_id == owner_id)
    if only_id is not None:
        conditions.append(Customer.id == only_id)
    if after is not None:
        conditions.append(_keyset(column, descending, after))
    order = (column.desc(), Customer.id.desc()) if descending else (column.asc(), Customer.id.asc())
    return select(Customer).where(*conditions).order_by(*order).limit(limit + 1)


async def search(
    session: AsyncSession, *, sort: str, limit: int, **criteria: Any
) -> tuple[Sequence[Customer], list[Any] | None]:
    """One page of customers and the keyset of the next page (None on the last)."""
    column, _ = SORTS[sort]
    rows = list((await session.scalars(search_statement(sort=sort, limit=limit, **criteria))).all())
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = getattr(last, column.key)
        next_key = [value.isoformat() if isinstance(value, (datetime, date)) else value, str(last.id)]
    return rows, next_key


async def audit(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    action: str,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    session.add(CustomerAudit(customer_id=customer_id, action=action, actor_id=actor_id, details=details))
    await session.flush()


async def audit_trail(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[CustomerAudit]:
    rows = await session.scalars(
        select(CustomerAudit)
        .where(CustomerAudit.customer_id == customer_id)
        .order_by(CustomerAudit.occurred_at)
    )
    return rows.all()


async def link_account(session: AsyncSession, *, email: str, user_id: uuid.UUID) -> Customer | None:
    """Link the live, unlinked customer with this e-mail to the account; returns it when linked."""
    row = (
        await session.scalars(
            select(Customer)
            .where(
                func.lower(Customer.email) == email.lower(),
                Customer.status.not_in(CLOSED_STATUSES),
                Customer.user_id.is_(None),
            )
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    if await session.scalar(select(Customer.id).where(Customer.user_id == user_id)) is not None:
        return None
    row.user_id = user_id
    row.version += 1
    row.updated_at = utcnow()
    await session.flush()
    return row


async def all_live_ids(session: AsyncSession, *, after: uuid.UUID | None, limit: int) -> Sequence[uuid.UUID]:
    query = (
        select(Customer.id).where(Customer.status.not_in(CLOSED_STATUSES)).order_by(Customer.id).limit(limit)
    )
    if after is not None:
        query = query.where(Customer.id > after)
    return (await session.scalars(query)).all()


async def set_segment(session: AsyncSession, *, customer_id: uuid.UUID, segment: str) -> None:
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(segment=segment, version=Customer.version + 1, updated_at=func.now())
    )


async def count_created_by(session: AsyncSession, actor_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(Customer.created_by == actor_id)) or 0)
