"""Forecasts of sales (written premium), claims (reported) and growth (policies in force)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from analytics.forecasts import model, repository
from analytics.store.port import Store

UNITS = {
    "sales": "EUR written premium",
    "claims": "claims reported",
    "growth": "policies in force at month end",
}


def _series(
    kind: str, rows: list[dict[str, Any]], since: date, until: date
) -> tuple[list[date], list[float]]:
    by_month = {date.fromisoformat(r["month"]): float(r["value"]) for r in rows}
    if kind == "growth":  # cumulate the monthly net change from the first month ever
        months_all = sorted(by_month)
        level, levels = 0.0, {}
        cursor = months_all[0] if months_all else until
        while cursor < until:
            level += by_month.get(cursor, 0.0)
            levels[cursor] = level
            cursor = model.add_months(cursor, 1)
        by_month = {m: v for m, v in levels.items() if m >= since}
    first = min((m for m, v in by_month.items() if v), default=None)
    if first is None:
        return [], []
    months, values, cursor = [], [], first
    while cursor < until:
        months.append(cursor)
        values.append(by_month.get(cursor, 0.0))
        cursor = model.add_months(cursor, 1)
    return months, values


async def forecast(
    store: Store, *, kind: str, horizon: int, history_months: int, today: date | None = None
) -> dict[str, Any]:
    """The series' complete months (up to ``history_months``), its forecast and backtest."""
    today = today or datetime.now(UTC).date()
    until = date(today.year, today.month, 1)
    since = model.add_months(until, -history_months)
    rows = await repository.monthly(
        store, kind=kind, since=since if kind != "growth" else date(1976, 1, 1), until=until
    )
    months, values = _series(kind, rows, since, until)
    result = await asyncio.to_thread(model.forecast, months, values, horizon)
    return {
        "series": kind,
        "unit": UNITS[kind],
        "history": [{"month": m, "value": round(v, 2)} for m, v in zip(months, values, strict=True)],
        **result,
    }
