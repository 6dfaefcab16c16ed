"""Observed prices: recorded from the scraper's events, set beside a comparison's tariff prices."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.scraper import CarrierPriceObserved
from quote_engine.core.base import utcnow
from quote_engine.observed import repository
from quote_engine.observed.models import ObservedPrice
from quote_engine.observed.schemas import ObservedPriceOut

MAX_AGE = timedelta(days=30)


async def record(session: AsyncSession, *, event_id: str, data: CarrierPriceObserved) -> None:
    """Keep one observed price (idempotent per event)."""
    await repository.add(
        session,
        {
            "event_id": event_id,
            "job_id": data.job_id,
            "carrier": data.carrier,
            "carrier_name": data.carrier_name,
            "product": data.product,
            "premium": data.premium,
            "currency": data.currency,
            "line": data.risk.product_type,
            "postal_code": data.risk.postal_code,
            "driver_birth_date": data.risk.driver_birth_date,
            "quote_id": data.quote_id,
            "adapter_version": data.adapter_version,
            "observed_at": data.observed_at,
        },
    )


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _matches(
    row: ObservedPrice, quote_id: uuid.UUID, risk: dict[str, Any]
) -> Literal["quote", "risk"] | None:
    if row.quote_id == quote_id:
        return "quote"
    if (
        risk.get("line") == row.line
        and risk.get("postal_code") == row.postal_code
        and risk.get("driver_age") == _age_on(row.driver_birth_date, row.observed_at.date())
    ):
        return "risk"
    return None


async def beside(
    session: AsyncSession, *, comparison_id: uuid.UUID, request: dict[str, Any], offers: list[dict[str, Any]]
) -> list[ObservedPriceOut]:
    """The carriers' observed prices for this comparison (named by the job, or the same risk in the
    last 30 days), newest per carrier and product, each beside the carrier's cheapest tariff total."""
    now = utcnow()
    risk = request.get("risk") or {}
    rows = await repository.for_comparison(
        session, quote_id=comparison_id, postal_code=risk.get("postal_code"), since=since(now)
    )
    return placed(rows, comparison_id=comparison_id, risk=risk, offers=offers, now=now)


def since(now: datetime) -> datetime:
    """The oldest observation set beside a comparison made at ``now``."""
    return now - MAX_AGE


def placed(
    rows: list[ObservedPrice],
    *,
    comparison_id: uuid.UUID,
    risk: dict[str, Any],
    offers: list[dict[str, Any]],
    now: datetime,
) -> list[ObservedPriceOut]:
    """:func:`beside`'s answer from the rows read for the comparison (newest first) — for a caller
    that read them in its own statement (``repository.for_comparison``'s query and arguments)."""
    cheapest: dict[str, Decimal] = {}
    for offer in offers:
        if offer.get("eligible") and offer.get("total") is not None:
            name, total = str(offer["carrier"]).lower(), Decimal(str(offer["total"]))
            cheapest[name] = min(total, cheapest.get(name, total))
    seen: set[tuple[str, str | None]] = set()
    out = []
    for row in rows:
        how = _matches(row, comparison_id, risk)
        if how is None or (row.carrier, row.product) in seen:
            continue
        seen.add((row.carrier, row.product))
        tariff = cheapest.get(row.carrier_name.lower())
        out.append(
            ObservedPriceOut(
                carrier=row.carrier_name,
                product=row.product,
                observed_premium=row.premium,
                currency=row.currency,
                observed_at=row.observed_at,
                age_hours=round((now - row.observed_at).total_seconds() / 3600, 2),
                tariff_total=tariff,
                difference=(row.premium - tariff) if tariff is not None else None,
                match=how,
                job_id=row.job_id,
            )
        )
    return out
