"""Each KPI of docs/analytics.md computed by hand on a small event history and compared with what
the store answers (the arithmetic is written beside each expected figure).

Period: Q1 2026 = 2026-01-01 .. 2026-03-31 (90 days); previous period 2025-10-03 .. 2025-12-31;
a year before 2025-01-01 .. 2025-03-31.

Policies (premium per 365-day term):
  P1 Mapfre home, Madrid: 2025-01-01 (365.00), renewed 2026-01-01 (400.00)
  P2 AXA auto, Sevilla: 2025-02-01 (730.00), lapses 2026-02-01
  P3 Mapfre auto, Madrid: 2026-02-01 (365.00), cancelled 2026-03-02 (sold from quote Q1)
  P4 Allianz life, Madrid: 2025-06-01 (1000.00)
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from aintech_contracts.rbac import Role
from analytics.ingest.writer import write_events
from analytics.kpis import dashboards, service
from analytics.kpis.service import Period
from analytics.store.port import Store

from .conftest import Api
from .history import History, at

Q1 = Period(date(2026, 1, 1), date(2026, 3, 31))


def history() -> tuple[History, dict[str, uuid.UUID]]:
    h = History()
    a = h.customer(province="Madrid", when=at(date(2024, 12, 1)))
    b = h.customer(province="Sevilla", when=at(date(2024, 12, 1)))
    c = h.customer(province="Madrid", when=at(date(2025, 12, 1)))
    p1 = h.policy(a, start=date(2025, 1, 1), premium="365.00", carrier="Mapfre", line="home")
    h.renew(
        p1,
        a,
        previous_start=date(2025, 1, 1),
        start=date(2026, 1, 1),
        premium="400.00",
        previous_premium="365.00",
    )
    p2 = h.policy(b, start=date(2025, 2, 1), premium="730.00", carrier="AXA", line="auto")
    q1 = h.quote(c, on=date(2026, 1, 20), premium="365.00", line="auto")
    h.quote(b, on=date(2026, 3, 1), premium="500.00", line="home")
    p3 = h.policy(c, start=date(2026, 2, 1), premium="365.00", carrier="Mapfre", line="auto", quote_id=q1)
    h.convert(q1, c, p3, on=date(2026, 2, 1))
    h.cancel(p3, c, on=date(2026, 3, 2))
    p4 = h.policy(a, start=date(2025, 6, 1), premium="1000.00", carrier="Allianz", line="life")
    h.claim(a, p1, on=date(2026, 1, 15), claimed="500.00", approved="400.00", paid="400.00")
    h.claim(a, p4, on=date(2026, 2, 10), claimed="1000.00", outcome="denied")
    h.claim(b, p2, on=date(2026, 1, 20), claimed="300.00")
    h.claim(a, p4, on=date(2025, 12, 15), claimed="200.00")  # previous period
    x, y = uuid.uuid4(), uuid.uuid4()
    t = datetime(2026, 1, 25, 12, tzinfo=UTC)
    h.call(x, c, on=t, seconds=300)  # the last touch before P3 was sold on 2026-02-01
    h.call(x, None, on=t + timedelta(days=3), seconds=500)
    h.call(x, None, on=t + timedelta(days=4), seconds=0, answered=False)
    h.call(y, a, on=datetime(2025, 11, 1, 9, tzinfo=UTC), seconds=120)  # previous period
    h.call(y, None, on=datetime(2026, 3, 3, 9, tzinfo=UTC), seconds=60)
    m1, m2, m3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    h.message_in(m1, channel="whatsapp", when=datetime(2026, 1, 10, 10, 0, tzinfo=UTC))
    h.message_out(m1, channel="whatsapp", when=datetime(2026, 1, 10, 10, 5, tzinfo=UTC))
    h.message_in(m1, channel="whatsapp", when=datetime(2026, 1, 10, 10, 10, tzinfo=UTC))
    h.message_in(m2, channel="email", when=datetime(2026, 2, 1, 9, tzinfo=UTC))
    h.message_out(m2, channel="email", when=datetime(2026, 2, 1, 11, tzinfo=UTC))
    h.message_in(m3, channel="whatsapp", when=datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    h.message_out(m3, channel="whatsapp", when=datetime(2026, 3, 1, 10, 1, tzinfo=UTC))
    return h, {"x": x, "y": y}


def values(report: dict[str, object], key: str | None = None) -> dict[str, object]:
    groups = report["groups"]
    assert isinstance(groups, list)
    group = next(g for g in groups if g["key"] == key)
    return {name: kpi["value"] for name, kpi in group["kpis"].items()}


async def test_every_kpi_matches_the_hand_computation(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    report = await service.kpis(store, period=Q1, filters={})
    got = values(report)

    # written: terms starting in Q1 = P1 renewal 400 + P3 365
    assert got["written_premium"] == Decimal("765.00")
    # earned = premium x days of the term inside Q1 / term days:
    #   P1 term 2: 400 x 90/365 = 98.6301; P2: 730 x 31/365 = 62.00 (lapses 02-01);
    #   P3: 365 x 29/365 = 29.00 (02-01 .. cancelled 03-02); P4: 1000 x 90/365 = 246.5753
    assert got["earned_premium"] == Decimal("436.21")
    # in force on 03-31: P1 (term 2) and P4 (P2 lapsed, P3 cancelled)
    assert got["policies_in_force"] == 2
    # up for renewal in Q1: P1 term 1 (renewed) and P2 (not): 1/2
    assert got["retention_rate"] == Decimal("0.5000")
    # lost = 1 not renewed (P2) + 1 cancelled (P3); in force at the start: P1, P2, P4 -> 2/3
    assert got["churn_rate"] == Decimal("0.6667")
    # exposure = 90 + 31 + 29 + 90 = 240 days = 0.6575 years; 3 claims reported in Q1
    assert got["exposure_years"] == Decimal("0.6575")
    assert got["claims"] == 3
    assert got["claim_frequency"] == Decimal("4.5625")  # 3 x 365 / 240
    # incurred: paid 400 + denied 0 + open (claimed) 300 = 700
    assert got["incurred"] == Decimal("700.00")
    assert got["paid"] == Decimal("400.00")
    assert got["severity"] == Decimal("233.33")  # 700 / 3
    assert got["loss_ratio"] == Decimal("1.6047")  # 700 / 436.21
    # quotes issued in Q1: Q1 (bound as P3) and Q2 (not)
    assert (got["quotes_issued"], got["quotes_bound"], got["quote_to_bind"]) == (2, 1, Decimal("0.5000"))


async def test_changes_against_the_previous_period_and_a_year_before(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    report = await service.kpis(store, period=Q1, filters={})
    written = report["groups"][0]["kpis"]["written_premium"]
    earned = report["groups"][0]["kpis"]["earned_premium"]
    # previous period 2025-10-03 .. 2025-12-31: no term starts -> 0, so no relative change
    assert written["previous"] == Decimal("0.00") and written["change_vs_previous"] is None
    # a year before: P1 term 1 (365) + P2 (730) started in Q1 2025 -> (765 - 1095) / 1095
    assert written["year_before"] == Decimal("1095.00")
    assert written["change_vs_year_before"] == Decimal("-0.3014")
    # previous period earned: P1 365 x 90/365 + P2 730 x 90/365 + P4 1000 x 90/365 = 516.58
    assert earned["previous"] == Decimal("516.58")
    assert earned["change_vs_previous"] == Decimal("-0.1556")  # (436.21 - 516.58) / 516.58


async def test_breakdowns_by_carrier_line_and_province(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    by_carrier = await service.kpis(store, period=Q1, filters={}, by="carrier")
    assert values(by_carrier, "Mapfre")["written_premium"] == Decimal("765.00")
    assert values(by_carrier, "Mapfre")["earned_premium"] == Decimal("127.63")  # 98.6301 + 29
    assert values(by_carrier, "AXA")["earned_premium"] == Decimal("62.00")
    assert values(by_carrier, "AXA")["incurred"] == Decimal("300.00")
    by_line = await service.kpis(store, period=Q1, filters={}, by="line")
    assert values(by_line, "auto")["quotes_issued"] == 1
    assert values(by_line, "auto")["quote_to_bind"] == Decimal("1.0000")
    by_province = await service.kpis(store, period=Q1, filters={}, by="province")
    assert values(by_province, "Sevilla")["policies_in_force"] == 0
    assert values(by_province, "Madrid")["policies_in_force"] == 2
    only_axa = await service.kpis(store, period=Q1, filters={"carrier": "AXA"})
    assert values(only_axa)["written_premium"] == Decimal("0.00")
    assert values(only_axa)["claims"] == 1


async def test_agent_performance_and_channel_volumes(store: Store) -> None:
    h, agents = history()
    await write_events(store, h.events)
    rows = {r["agent_id"]: r for r in await service.agents(store, period=Q1, filters={})}
    x, y = rows[str(agents["x"])], rows[str(agents["y"])]
    # x: 3 calls, 2 answered (300 s and 500 s), and P3 sold 7 days after x's call with its customer
    assert (x["calls"], x["answered"], x["avg_handle_seconds"], x["conversions"]) == (3, 2, 400.0, 1)
    assert x["answer_rate"] == Decimal("0.6667")
    # y: one call in Q1 (60 s); its November call is outside the period
    assert (y["calls"], y["answered"], y["avg_handle_seconds"], y["conversions"]) == (1, 1, 60.0, 0)
    channels = {r["channel"]: r for r in await service.channels(store, period=Q1)}
    # whatsapp: 3 in, 2 out; first responses 300 s and 60 s -> median 180 s
    assert channels["whatsapp"] == {
        "channel": "whatsapp",
        "inbound": 3,
        "outbound": 2,
        "median_first_response_seconds": 180.0,
    }
    assert channels["email"]["median_first_response_seconds"] == 7200.0


async def test_the_api_gives_the_same_figures(store: Store, store_api: Api) -> None:
    h, _ = history()
    await write_events(store, h.events)
    body = (
        await store_api.call("GET", "/kpis?start=2026-01-01&end=2026-03-31&by=carrier", expect=200)
    ).json()
    mapfre = next(g for g in body["groups"] if g["key"] == "Mapfre")
    assert mapfre["kpis"]["written_premium"]["value"] == "765.00"
    assert mapfre["kpis"]["earned_premium"]["value"] == "127.63"
    financial = (
        await store_api.call("GET", "/dashboard/financial?start=2026-01-01&end=2026-03-31", expect=200)
    ).json()
    assert financial["kpis"]["groups"][0]["kpis"]["loss_ratio"]["value"] == "1.6047"
    sales = (
        await store_api.call("GET", "/dashboard/sales?start=2026-01-01&end=2026-03-31", expect=200)
    ).json()
    assert sales["premium_by_month"] == [
        {"month": "2026-01-01", "written": "400.00", "terms": 1},
        {"month": "2026-02-01", "written": "365.00", "terms": 1},
    ]
    agents = (
        await store_api.call("GET", "/dashboard/agents?start=2026-01-01&end=2026-03-31", expect=200)
    ).json()
    assert sorted(a["calls"] for a in agents["agents"]) == [1, 3]
    await store_api.call("GET", "/kpis", headers=store_api.auth(Role.agent), expect=403)


async def test_a_replayed_history_changes_no_figure(store: Store) -> None:
    h, _ = history()
    assert await write_events(store, h.events) == len(h.events)
    before = await service.kpis(store, period=Q1, filters={}, by="carrier")
    agents_before = await service.agents(store, period=Q1, filters={})
    assert await write_events(store, h.events) == 0
    assert await write_events(store, h.events[::-1]) == 0
    assert await service.kpis(store, period=Q1, filters={}, by="carrier") == before
    assert await service.agents(store, period=Q1, filters={}) == agents_before
    rows = await store.query("SELECT sum(events) AS n FROM $db.events_daily")
    assert rows[0]["n"] == len(h.events)


async def test_a_dashboards_cards_are_the_sums_of_its_breakdown(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    for period in (
        Q1,
        Period(date(2025, 1, 1), date(2026, 12, 31)),
        Period(date(2026, 2, 1), date(2026, 2, 28)),
    ):
        for filters in ({}, {"carrier": "Mapfre"}, {"province": "Madrid", "line": "auto"}):
            for by in ("carrier", "line", "province"):
                totals, breakdown = await service.kpis_with_breakdown(
                    store, period=period, filters=filters, by=by
                )
                assert totals == await service.kpis(store, period=period, filters=filters), (
                    period,
                    filters,
                    by,
                )
                assert breakdown == await service.kpis(store, period=period, filters=filters, by=by)


async def test_each_dashboards_cards_are_those_of_the_whole_kpi_set(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    for period in (Q1, Period(date(2025, 1, 1), date(2026, 12, 31))):
        for filters in ({}, {"carrier": "Mapfre"}):
            whole = await service.kpis(store, period=period, filters=filters)
            for kind, names in dashboards.CARDS.items():
                board = await dashboards.build(store, kind=kind, period=period, filters=filters)  # type: ignore[arg-type]
                assert board.kpis == dashboards._only(whole, names), (kind, period, filters)
                by = dashboards.BREAKDOWN[kind]
                if by is not None:
                    split = await service.kpis(store, period=period, filters=filters, by=by)
                    assert board.breakdown == dashboards._only(split, names)
