"""The KPI formulas (docs/analytics.md): store figures in, ratios and period changes out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from aintech_shared.errors import UnprocessableEntity
from analytics.kpis import repository
from analytics.store.port import Store

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
Dimension = Literal["carrier", "line", "province"]
FILTERS = ("carrier", "line", "province", "agent")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def year_before(self) -> Period:
        return Period(_minus_year(self.start), _minus_year(self.end))


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _ratio(num: Decimal | int | float, den: Decimal | int | float) -> Decimal | None:
    if not den:
        return None
    return (Decimal(str(num)) / Decimal(str(den))).quantize(RATIO, ROUND_HALF_UP)


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


async def validate_filters(store: Store, filters: dict[str, str]) -> None:
    """An unknown filter value is a 422 naming it (not an empty answer that looks like zero)."""
    for name in FILTERS:
        value = filters.get(name)
        if value and value not in await repository.known_values(store, dimension=name):
            raise UnprocessableEntity(f"Unknown {name} {value!r}: no event has mentioned it.")


def compute(policy: dict[str, Any], claims: dict[str, Any], quotes: dict[str, Any]) -> dict[str, Any]:
    """The KPI set of one group from its raw figures."""
    earned = money(policy.get("earned_raw"))
    exposure_years = Decimal(str(policy.get("exposure_days") or 0)) / Decimal(365)
    up = int(policy.get("up_for_renewal") or 0)
    renewed = int(policy.get("renewed_terms") or 0)
    lost = (up - renewed) + int(policy.get("cancelled_terms") or 0)
    n_claims = int(claims.get("claim_count") or 0)
    incurred = money(claims.get("incurred_total"))
    n_quotes = int(quotes.get("quote_count") or 0)
    return {
        "written_premium": money(policy.get("written")),
        "earned_premium": earned,
        "policies_in_force": int(policy.get("in_force") or 0),
        "retention_rate": _ratio(renewed, up),
        "churn_rate": _ratio(lost, policy.get("in_force_at_start") or 0),
        "claims": n_claims,
        "claim_frequency": _ratio(n_claims, exposure_years),
        "severity": money(incurred / n_claims) if n_claims else None,
        "loss_ratio": _ratio(incurred, earned),
        "incurred": incurred,
        "paid": money(claims.get("paid_total")),
        "quotes_issued": n_quotes,
        "quotes_bound": int(quotes.get("bound_count") or 0),
        "quote_to_bind": _ratio(quotes.get("bound_count") or 0, n_quotes),
        "exposure_years": exposure_years.quantize(RATIO, ROUND_HALF_UP),
    }


def _groups(figures: dict[str, dict[str, Any]], by: Dimension | None) -> dict[str, dict[str, Any]]:
    keys = [""] if by is None else sorted(figures)
    return {k: compute(figures.get(k, {}), figures.get(k, {}), figures.get(k, {})) for k in keys}


def _change(now: Any, before: Any) -> Decimal | None:
    """Relative change (0.1 = +10 %); None when either side is missing or the base is zero."""
    if now is None or before is None or not before:
        return None
    return ((Decimal(str(now)) - Decimal(str(before))) / abs(Decimal(str(before)))).quantize(
        RATIO, ROUND_HALF_UP
    )


def _with_changes(now: dict[str, Any], prev: dict[str, Any], yoy: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {
            "value": value,
            "previous": prev.get(name),
            "change_vs_previous": _change(value, prev.get(name)),
            "year_before": yoy.get(name),
            "change_vs_year_before": _change(value, yoy.get(name)),
        }
        for name, value in now.items()
    }


async def kpis(
    store: Store,
    *,
    period: Period,
    filters: dict[str, str],
    by: Dimension | None = None,
    tables: tuple[str, ...] = tuple(repository.AGGREGATES),
) -> dict[str, Any]:
    """Every KPI of the period (optionally per carrier, line or province), each with its change
    against the previous period of the same length and the same period a year before
    (``tables``: read only these aggregates; the KPIs of the others are then zero or empty)."""
    await validate_filters(store, filters)
    figures = await _figures(store, period, filters, by, tables)
    return _report(figures, period=period, filters=filters, by=by)


async def kpis_with_breakdown(
    store: Store, *, period: Period, filters: dict[str, str], by: Dimension
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`kpis` of the period, and per ``by``, from one statement: every figure is a sum, so
    the totals are the sums of the groups' figures (a dashboard's cards and its breakdown)."""
    await validate_filters(store, filters)
    figures = await _figures(store, period, filters, by)
    totals = [{"": _total(groups)} if groups else {} for groups in figures]
    return (
        _report(totals, period=period, filters=filters, by=None),
        _report(figures, period=period, filters=filters, by=by),
    )


def _total(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: sum(g.get(name) or 0 for g in groups.values()) for name in repository.MEASURES}


async def _figures(
    store: Store,
    period: Period,
    filters: dict[str, str],
    by: Dimension | None,
    tables: tuple[str, ...] = tuple(repository.AGGREGATES),
) -> list[dict[str, Any]]:
    periods = [period, period.previous(), period.year_before()]
    # one statement: the three periods in one pass over the aggregates
    return await repository.figures(
        store, periods=[(p.start, p.end) for p in periods], filters=filters, by=by, tables=tables
    )


def _report(
    figures: list[dict[str, Any]], *, period: Period, filters: dict[str, str], by: Dimension | None
) -> dict[str, Any]:
    now, prev, yoy = (_groups(f, by) for f in figures)
    groups = [
        {"key": key or None, "kpis": _with_changes(values, prev.get(key, {}), yoy.get(key, {}))}
        for key, values in now.items()
    ]
    return {
        "period": {"start": period.start, "end": period.end},
        "previous_period": {"start": period.previous().start, "end": period.previous().end},
        "year_before": {"start": period.year_before().start, "end": period.year_before().end},
        "filters": filters,
        "by": by,
        "groups": groups,
    }


async def agents(store: Store, *, period: Period, filters: dict[str, str]) -> list[dict[str, Any]]:
    """Per agent: calls, answered calls, average handle time and attributed conversions."""
    await validate_filters(store, filters)
    calls, conversions = await asyncio.gather(
        repository.agent_figures(store, start=period.start, end=period.end, filters=filters),
        repository.agent_conversions(store, start=period.start, end=period.end, filters=filters),
    )
    won = {str(r["agent_id"]): int(r["conversion_count"]) for r in conversions}
    out = []
    for row in calls:
        aht = row.get("avg_handle_seconds")
        out.append(
            {
                "agent_id": str(row["agent_id"]),
                "calls": int(row["calls"]),
                "answered": int(row["answered_calls"]),
                "answer_rate": _ratio(row["answered_calls"], row["calls"]),
                "avg_handle_seconds": None if aht is None else round(float(aht), 1),
                "conversions": won.get(str(row["agent_id"]), 0),
            }
        )
    return out


async def channels(store: Store, *, period: Period) -> list[dict[str, Any]]:
    """Per channel: messages in and out, median first-response time."""
    rows = await repository.message_figures(store, start=period.start, end=period.end)
    return [
        {
            "channel": str(r["channel"]),
            "inbound": int(r["inbound"]),
            "outbound": int(r["outbound"]),
            "median_first_response_seconds": None
            if r.get("median_first_response_seconds") is None
            else float(r["median_first_response_seconds"]),
        }
        for r in rows
    ]
