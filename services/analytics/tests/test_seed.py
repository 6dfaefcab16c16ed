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

    kpis = {
        k: v.value
        for k, v in (await dashboards.build(store, kind="financial", period=YEAR, filters={}))
        .kpis.groups[0]
        .kpis.items()
    }
    assert kpis["earned_premium"] > 0 and kpis["incurred"] > 0 and kpis["paid"] > 0
    assert Decimal("0.02") < kpis["loss_ratio"] < Decimal("2")
    assert kpis["claim_frequency"] > 0 and kpis["severity"] > 0

    customers = (await dashboards.build(store, kind="customers", period=YEAR, filters={})).kpis.groups[0].kpis
    assert Decimal("0.5") < customers["retention_rate"].value < 1
    assert Decimal("0") < customers["churn_rate"].value < Decimal("0.6")
    assert customers["policies_in_force"].value > 200
    assert (
        customers["policies_in_force"].year_before is not None
        and customers["policies_in_force"].year_before > 0
    )

    agents = await dashboards.build(store, kind="agents", period=YEAR, filters={})
    quotes = agents.kpis.groups[0].kpis
    assert quotes["quotes_issued"].value > 0 and Decimal("0.2") < quotes["quote_to_bind"].value < Decimal(
        "0.8"
    )
    assert len(agents.agents) == 10 and all(a.calls > 0 and a.conversions > 0 for a in agents.agents)
    assert {c.channel for c in agents.channels} == {"whatsapp", "email", "sms", "chat"}
    assert all(c.inbound > 0 and c.median_first_response_seconds for c in agents.channels)

    growth = await service.kpis(store, period=YEAR, filters={})
    written = growth["groups"][0]["kpis"]["written_premium"]
    assert written["change_vs_year_before"] is not None and written["change_vs_year_before"] > 0  # growth


async def test_seeding_again_does_not_double_the_history(store: Store) -> None:
    await seed_history(store, today=TODAY)
    before = await service.kpis(store, period=HISTORY, filters={}, by="carrier")
    assert await seed_history(store, today=TODAY) == (await seed_history(store, today=TODAY))[:1] + (0,)
    assert await service.kpis(store, period=HISTORY, filters={}, by="carrier") == before
    # a run a month later adds the new month and what came due since, not a second history
    _, new = await seed_history(store, today=date(2027, 1, 20))
    assert 0 < new < 3000
    later = await service.kpis(store, period=HISTORY, filters={}, by="carrier")
    assert [g["kpis"]["written_premium"]["value"] for g in later["groups"]] == [
        g["kpis"]["written_premium"]["value"] for g in before["groups"]
    ]
