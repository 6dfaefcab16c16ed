"""The demo history (``analytics.seed``): after it, every dashboard and KPI shows plausible
figures, and seeding again does not double the history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from analytics.kpis import dashboards, service
from analytics.kpis.service import Period
from analytics.seed import MONTHS, seed_history
from analytics.store.port import Store

TODAY = date(2026, 12, 7)
HISTORY = Period(date(2024, 12, 1), date(2026, 11, 30))  # the 24 complete months before TODAY
YEAR = Period(date(2025, 12, 1), date(2026, 11, 30))


async def test_every_dashboard_has_figures_after_the_seed(store: Store) -> None:
    built, new = await seed_history(store, today=TODAY)
    assert built == new > 5000

    sales = await dashboards.build(store, kind="sales", period=HISTORY, filters={})
    assert len(sales.premium_by_month) == MONTHS == 24
    assert all(m.written > 0 and m.terms > 0 for m in sales.premium_by_month)
    assert sales.breakdown is not None and len(sales.breakdown.groups) == 6  # every carrier sold

    def values(kind: str) -> dict[str, Decimal | None]:
        return {
            name: None if kpi.value is None else Decimal(str(kpi.value))
            for name, kpi in board[kind].kpis.groups[0].kpis.items()
        }

    board = {
        kind: await dashboards.build(store, kind=kind, period=YEAR, filters={})
        for kind in ("financial", "customers", "agents")
    }
    money = values("financial")
    assert all(
        (money[n] or 0) > 0 for n in ("earned_premium", "incurred", "paid", "claim_frequency", "severity")
    )
    assert Decimal("0.02") < (money["loss_ratio"] or 0) < Decimal("2")

    customers = values("customers")
    assert Decimal("0.5") < (customers["retention_rate"] or 0) < 1
    assert Decimal("0") < (customers["churn_rate"] or 0) < Decimal("0.6")
    assert (customers["policies_in_force"] or 0) > 200
    in_force = board["customers"].kpis.groups[0].kpis["policies_in_force"]
    assert in_force.year_before is not None and Decimal(str(in_force.year_before)) > 0

    quotes = values("agents")
    assert (quotes["quotes_issued"] or 0) > 0
    assert Decimal("0.2") < (quotes["quote_to_bind"] or 0) < Decimal("0.8")
    agents = board["agents"]
    assert len(agents.agents) == 10 and all(a.calls > 0 and a.conversions > 0 for a in agents.agents)
    assert {c.channel for c in agents.channels} == {"whatsapp", "email", "sms", "chat"}
    assert all(c.inbound > 0 and c.median_first_response_seconds for c in agents.channels)

    growth = await service.kpis(store, period=YEAR, filters={})
    written = growth["groups"][0]["kpis"]["written_premium"]
    assert written["change_vs_year_before"] is not None and written["change_vs_year_before"] > 0  # growth


async def test_seeding_again_does_not_double_the_history(store: Store) -> None:
    await seed_history(store, today=TODAY)
    before = await service.kpis(store, period=HISTORY, filters={}, by="carrier")
    built, new = await seed_history(store, today=TODAY)
    assert built > 5000 and new == 0
    assert await service.kpis(store, period=HISTORY, filters={}, by="carrier") == before
    # a run a month later adds the new month and what came due since, not a second history
    _, new = await seed_history(store, today=date(2027, 1, 20))
    assert 0 < new < 3000
    later = await service.kpis(store, period=HISTORY, filters={}, by="carrier")
    assert [g["kpis"]["written_premium"]["value"] for g in later["groups"]] == [
        g["kpis"]["written_premium"]["value"] for g in before["groups"]
    ]
