"""Queries on carrier products, tariff versions and receipt taxes."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import statement_driver
from quote_engine.tariffs.models import CarrierProduct, ReceiptTaxRow, TariffStatus, TariffVersion


async def product_by_code(session: AsyncSession, code: str) -> CarrierProduct | None:
    return (await session.scalars(select(CarrierProduct).where(CarrierProduct.code == code))).first()


async def products(session: AsyncSession, *, line: str | None = None) -> Sequence[CarrierProduct]:
    query = select(CarrierProduct).order_by(CarrierProduct.line, CarrierProduct.carrier, CarrierProduct.code)
    if line:
        query = query.where(CarrierProduct.line == line)
    return (await session.scalars(query)).all()


async def add(session: AsyncSession, *rows: CarrierProduct | TariffVersion) -> None:
    session.add_all(rows)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def next_version(session: AsyncSession, product_id: uuid.UUID) -> int:
    current = await session.scalar(
        select(func.max(TariffVersion.version)).where(TariffVersion.product_id == product_id)
    )
    return int(current or 0) + 1


async def version(
    session: AsyncSession, version_id: uuid.UUID, *, for_update: bool = False
) -> tuple[TariffVersion, CarrierProduct] | None:
    query = (
        select(TariffVersion, CarrierProduct)
        .join(CarrierProduct, CarrierProduct.id == TariffVersion.product_id)
        .where(TariffVersion.id == version_id)
    )
    if for_update:
        query = query.with_for_update(of=TariffVersion)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def versions(
    session: AsyncSession, version_ids: Collection[uuid.UUID]
) -> Sequence[tuple[TariffVersion, CarrierProduct]]:
    query = (
        select(TariffVersion, CarrierProduct)
        .join(CarrierProduct, CarrierProduct.id == TariffVersion.product_id)
        .where(TariffVersion.id.in_(list(version_ids)))
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def versions_of(
    session: AsyncSession, product_id: uuid.UUID, *, for_update: bool = False
) -> Sequence[TariffVersion]:
    query = (
        select(TariffVersion).where(TariffVersion.product_id == product_id).order_by(TariffVersion.version)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).all()


async def in_force(
    session: AsyncSession, *, on: date, line: str | None = None, product_code: str | None = None
) -> Sequence[tuple[TariffVersion, CarrierProduct]]:
    """Per product, the highest active version whose validity contains ``on``, by product code."""
    query = (
        select(TariffVersion, CarrierProduct)
        .join(CarrierProduct, CarrierProduct.id == TariffVersion.product_id)
        .where(
            TariffVersion.status == TariffStatus.active.value,
            TariffVersion.effective_from <= on,
            or_(TariffVersion.effective_to.is_(None), TariffVersion.effective_to > on),
        )
        .ext(distinct_on(TariffVersion.product_id))
        .order_by(TariffVersion.product_id, TariffVersion.version.desc())
    )
    if line:
        query = query.where(CarrierProduct.line == line)
    if product_code:
        query = query.where(CarrierProduct.code == product_code)
    rows = [(row[0], row[1]) for row in (await session.execute(query)).all()]
    return sorted(rows, key=lambda pair: pair[1].code)  # by product code: the same order every time


async def generation(session: AsyncSession) -> int | None:
    """The tariffs' generation: changes whenever a product, tariff version or receipt tax does.

    Read on the session's own driver connection (asked once per comparison: no statement to
    compile), in its transaction when one is open, else on its own (no BEGIN sent for it)."""
    conn = await statement_driver(session)
    value: int | None = await conn.fetchval("SELECT generation FROM quotes.tariff_generation WHERE id = 1")
    return value


async def taxes(session: AsyncSession) -> Sequence[ReceiptTaxRow]:
    query = select(ReceiptTaxRow).order_by(ReceiptTaxRow.code, ReceiptTaxRow.valid_from)
    return (await session.scalars(query)).all()
