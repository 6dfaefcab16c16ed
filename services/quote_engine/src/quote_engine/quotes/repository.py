"""Queries on stored calculations and comparisons."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.quotes import QuoteCalculated
from aintech_shared.db import json_dumps, statement_driver
from aintech_shared.events.outbox import Outbox
from quote_engine.observed import repository as observed
from quote_engine.observed.models import ObservedPrice
from quote_engine.quotes.models import Calculation


async def add(session: AsyncSession, row: Calculation) -> None:
    session.add(row)
    await session.flush()


# A comparison's stored row, its ``quote.calculated`` event and the observed prices set beside it:
# one prebuilt statement (the row, then the event's key lock and outbox row, as ``Outbox.publish``
# after a flush would; the statement's own rows are the observed prices' read).
_COMPARISON_COLUMNS = (
    "id",
    "kind",
    "line",
    "priced_on",
    "request",
    "result",
    "total",
    "customer_id",
    "crm_request_id",
    "created_at",
    "created_by",
)
_JSONB = frozenset({"request", "result"})
_STORE: dict[str, str] = {}  # by the outbox table's name (it is in the statement)
_OUTBOX_ARGS = 9  # Outbox.inline_sql's parameters


def _store_sql(outbox: Outbox) -> str:
    table = Calculation.__table__.fullname  # type: ignore[attr-defined]
    values = ", ".join(
        f"${n}{'::jsonb' if c in _JSONB else ''}" for n, c in enumerate(_COMPARISON_COLUMNS, start=1)
    )
    first = len(_COMPARISON_COLUMNS) + 1
    return (
        f"WITH stored AS (INSERT INTO {table} ({', '.join(_COMPARISON_COLUMNS)}) VALUES ({values}) "  # noqa: S608
        "RETURNING id), "
        + outbox.inline_sql(first=first, after="stored")
        + " "
        + observed.for_comparison_sql(first + _OUTBOX_ARGS)
    )


async def store_comparison(
    session: AsyncSession,
    outbox: Outbox,
    row: Calculation,
    event: bytes,
    *,
    observed_since: datetime,
) -> list[ObservedPrice]:
    """Insert the comparison's row (``row``: every column given, not added to the session), stage
    its ``quote.calculated`` event (``event``: the payload's JSON) and read the prices observed
    for it since ``observed_since`` (``observed.for_comparison``'s rows): one statement, one round
    trip. In the session's transaction when one is open, else on its own (``statement_driver``:
    atomic, no BEGIN/COMMIT)."""
    table = outbox.tables.outbox.fullname
    sql = _STORE.get(table)
    if sql is None:
        sql = _STORE[table] = _store_sql(outbox)
    _, event_args = outbox.inline_args(QuoteCalculated, key=str(row.id), data_json=event)
    args = [json_dumps(getattr(row, c)) if c in _JSONB else getattr(row, c) for c in _COMPARISON_COLUMNS]
    postal_code = row.request.get("risk", {}).get("postal_code")
    seen = observed.for_comparison_args(row.id, postal_code, observed_since)
    conn = await statement_driver(session)
    return observed.detached(await conn.fetch(sql, *args, *event_args, *seen))


async def get(session: AsyncSession, calculation_id: uuid.UUID) -> Calculation | None:
    return await session.get(Calculation, calculation_id)


async def recent_for_product(
    session: AsyncSession, product_code: str, *, limit: int
) -> Sequence[Calculation]:
    """The latest calculations of a product, newest first."""
    query = (
        select(Calculation)
        .where(Calculation.kind == "calculation", Calculation.product_code == product_code)
        .order_by(Calculation.created_at.desc(), Calculation.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def by_crm_request(session: AsyncSession, request_id: uuid.UUID) -> Calculation | None:
    query = select(Calculation).where(Calculation.crm_request_id == request_id).limit(1)
    return (await session.scalars(query)).first()


async def latest_comparison(session: AsyncSession, customer_id: uuid.UUID, line: str) -> Calculation | None:
    """The customer's most recent comparison of a line."""
    query = (
        select(Calculation)
        .where(
            Calculation.kind == "comparison", Calculation.customer_id == customer_id, Calculation.line == line
        )
        .order_by(Calculation.created_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()
