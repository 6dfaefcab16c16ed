"""Forecasts: intervals and an honest backtest on a synthetic seasonal series; a clear message when
the history is too short; the endpoints read the store's monthly series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from analytics.forecasts.model import add_months, forecast
from analytics.ingest.writer import write_events
from analytics.store.port import Store

from .conftest import Api
from .history import History, at


def _seasonal(n: int, seed: int = 3) -> tuple[list[date], list[float]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 1000 + 8 * t + 250 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 25, n)
    return [add_months(date(2021, 1, 1), i) for i in range(n)], [float(v) for v in y]


def test_a_seasonal_series_is_forecast_better_than_seasonal_naive_with_nested_intervals() -> None:
    months, values = _seasonal(60)
    result = forecast(months, values, 12)
    assert result["enough_history"] and result["message"] is None
    assert result["backtest"]["mase"] < 1
    assert result["backtest"]["beats_seasonal_naive"]
    points = result["points"]
    assert [p["month"] for p in points] == [add_months(date(2026, 1, 1), i) for i in range(12)]
    for p in points:
        assert p["lower_95"] < p["lower_80"] < p["forecast"] < p["upper_80"] < p["upper_95"]
    # the forecast keeps the season: the peak month (April-ish, sin max at t=3) beats the trough
    assert points[3]["forecast"] > points[9]["forecast"] + 300


def test_noise_is_not_claimed_to_beat_seasonal_naive_without_saying_so() -> None:
    rng = np.random.default_rng(5)
    months = [add_months(date(2021, 1, 1), i) for i in range(36)]
    values = [float(v) for v in rng.normal(100, 30, 36)]
    result = forecast(months, values, 6)
    if not result["backtest"]["beats_seasonal_naive"]:
        assert "did not beat" in result["message"]


def test_a_short_history_says_so() -> None:
    months, values = _seasonal(8)
    result = forecast(months, values, 6)
    assert not result["enough_history"] and result["points"] == []
    assert "8 complete months" in result["message"]
    months, values = _seasonal(18)
    result = forecast(months, values, 6)
    assert result["enough_history"] and "too few to learn the seasons" in result["message"]
    assert len(result["points"]) == 6


async def test_the_endpoints_read_the_stores_monthly_series(store: Store, store_api: Api) -> None:
    today = date.today()
    first = add_months(date(today.year, today.month, 1), -30)
    h = History()
    customer = h.customer(province="Madrid", when=at(first))
    for i in range(30):
        month = add_months(first, i)
        for k in range(2 + (i % 12 < 6)):
            h.policy(customer, start=month + timedelta(days=k), premium="100.00")
    await write_events(store, h.events)
    sales = (await store_api.call("POST", "/forecast/sales", json={"horizon": 3}, expect=200)).json()
    assert len(sales["history"]) == 30 and sales["enough_history"]
    assert sales["history"][0]["value"] == pytest.approx(300.0)
    assert len(sales["points"]) == 3 and sales["backtest"]["held_out_months"] == 7
    claims = (await store_api.call("POST", "/forecast/claims", json={}, expect=200)).json()
    assert not claims["enough_history"] and "0 complete months" in claims["message"]
    growth = (await store_api.call("POST", "/predict/growth", json={"horizon": 2}, expect=200)).json()
    assert growth["history"][-1]["value"] > growth["history"][0]["value"]
    r = await store_api.call("POST", "/forecast/sales", json={"horizon": 99}, expect=422)
    assert r.headers["content-type"].startswith("application/problem+json")
