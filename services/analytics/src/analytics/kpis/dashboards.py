"""What each dashboard shows: the KPI cards, one breakdown and its tables."""

from __future__ import annotations

import asyncio
from typing import Literal

from analytics.kpis import repository, service
from analytics.kpis.schemas import AgentRow, ChannelRow, Dashboard, KpiReport, MonthRow
from analytics.kpis.service import Dimension, Period
from analytics.store.port import Store

Kind = Literal["sales", "agents", "customers", "financial"]

# The KPI cards of each dashboard, and the breakdown it shows beside them.
CARDS: dict[str, tuple[str, ...]] = {
    "sales": ("written_premium", "policies_in_force", "quotes_issued", "quotes_bound", "quote_to_bind"),
    "agents": ("quotes_issued", "quotes_bound", "quote_to_bind"),
    "customers": ("policies_in_force", "retention_rate", "churn_rate"),
    "financial": ("earned_premium", "incurred", "loss_ratio", "claim_frequency", "severity", "paid"),
}
# the aggregates a dashboard without a breakdown reads its cards from (tested equal to the cards
# of the whole KPI set); a breakdown lists every group of every aggregate, so it reads them all
CARD_TABLES: dict[str, tuple[str, ...]] = {"agents": ("quote_daily",)}
BREAKDOWN: dict[str, Dimension | None] = {
    "sales": "carrier",
    "agents": None,
    "customers": "province",
    "financial": "carrier",
}


def _only(report: dict[str, object], names: tuple[str, ...]) -> KpiReport:
    model = KpiReport.model_validate(report)
    for group in model.groups:
        group.kpis = {k: v for k, v in group.kpis.items() if k in names}
    return model


async def build(store: Store, *, kind: Kind, period: Period, filters: dict[str, str]) -> Dashboard:
    """The figures of one dashboard."""
    names = CARDS[kind]
    by = BREAKDOWN[kind]
    if by is None:  # the agents dashboard's cards are the quotes': quote_daily alone
        totals = await service.kpis(store, period=period, filters=filters, tables=CARD_TABLES[kind])
        breakdown = None
    else:  # the cards are the breakdown's sums: one statement for both
        totals, breakdown = await service.kpis_with_breakdown(store, period=period, filters=filters, by=by)
    dashboard = Dashboard(
        type=kind,
        kpis=_only(totals, names),
        breakdown=_only(breakdown, names) if breakdown else None,
    )
    if kind in ("sales", "financial"):
        months = await repository.monthly_written(store, start=period.start, end=period.end, filters=filters)
        dashboard.premium_by_month = [
            MonthRow(month=m["month"], written=service.money(m["written"]), terms=m["terms"]) for m in months
        ]
    if kind == "agents":
        agents, channels = await asyncio.gather(
            service.agents(store, period=period, filters=filters), service.channels(store, period=period)
        )
        dashboard.agents = [AgentRow.model_validate(a) for a in agents]
        dashboard.channels = [ChannelRow.model_validate(c) for c in channels]
    return dashboard
