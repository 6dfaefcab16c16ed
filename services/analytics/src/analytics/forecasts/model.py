"""Monthly forecasts with 80% and 95% prediction intervals, and an honest backtest.

The model is statsmodels' ETS (``ETSModel``, additive errors): with two years of history or more
the candidates are seasonal (period 12) with and without a damped trend, with less only the
non-seasonal ones; the lowest AICc wins. Intervals are the model's analytic prediction intervals.

Backtest: the last ``h`` months (``min(12, n // 4)``) are held out, the same selection is fitted on
the months before, and its forecast is scored with MASE (mean absolute error divided by the
in-sample mean absolute error of the seasonal naive forecast, ``y[t] = y[t-12]``; lag 1 with
less than two years). The seasonal naive forecast's own MASE on the same months is given beside
it: the model is worth using where its MASE is lower.
"""

from __future__ import annotations

import warnings
from datetime import date
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

SEASON = 12
MIN_MONTHS = 12  # fewer: no forecast at all
SEASONAL_MONTHS = 2 * SEASON  # fewer: no seasonal model


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _fit(y: np.ndarray, seasonal: bool) -> Any:
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series(y, dtype=float)  # its prediction results need an index

    candidates = []
    for trend, damped in ((None, False), ("add", False), ("add", True)):
        kwargs: dict[str, Any] = {"error": "add", "trend": trend, "damped_trend": damped}
        if seasonal:
            kwargs.update(seasonal="add", seasonal_periods=SEASON)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fitted = ETSModel(series, **kwargs).fit(disp=False, maxiter=200)
            except (ValueError, np.linalg.LinAlgError):
                continue
        if np.isfinite(fitted.aicc):
            candidates.append((fitted.aicc, fitted, kwargs))
    if not candidates:
        raise ValueError("no ETS model could be fitted")
    _, best, spec = min(candidates, key=lambda c: c[0])
    return best, spec


def _describe(spec: dict[str, Any]) -> str:
    trend = {None: "N", "add": "A"}[spec["trend"]] + ("d" if spec["damped_trend"] else "")
    return f"ETS(A,{trend},{'A' if spec.get('seasonal') else 'N'})"


def _naive(history: np.ndarray, h: int, lag: int) -> np.ndarray:
    return np.asarray([history[len(history) - lag + (i % lag)] for i in range(h)], dtype=float)


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, lag: int) -> float | None:
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag]))) if len(history) > lag else 0.0
    if scale == 0:
        return None
    return round(float(np.mean(np.abs(actual - predicted))) / scale, 4)


def backtest(y: np.ndarray) -> dict[str, Any]:
    """Hold out the last months, refit, and compare with the seasonal naive forecast."""
    h = min(SEASON, len(y) // 4)
    train, test = y[:-h], y[-h:]
    seasonal = len(train) >= SEASONAL_MONTHS
    lag = SEASON if seasonal else 1
    fitted, spec = _fit(train, seasonal)
    predicted = np.asarray(fitted.forecast(h), dtype=float)
    naive = _naive(train, h, lag)
    model_mase = mase(test, predicted, train, lag)
    naive_mase = mase(test, naive, train, lag)
    return {
        "held_out_months": h,
        "model": _describe(spec),
        "mase": model_mase,
        "seasonal_naive_mase": naive_mase,
        "naive_lag_months": lag,
        "beats_seasonal_naive": (
            model_mase is not None and naive_mase is not None and model_mase < naive_mase
        ),
    }


def forecast(months: list[date], values: list[float], horizon: int) -> dict[str, Any]:
    """A forecast of ``horizon`` months after the last one, with 80% and 95% intervals, or a
    message saying why there is none.

    The fits run with one BLAS thread: the optimiser's small matrix products gain nothing from
    more, and OpenBLAS' spinning threads multiplied the CPU of a forecast by five to seven on a
    busy two-core machine (2.6 s → 0.36 s of CPU for five years of history)."""
    with threadpool_limits(limits=1):
        return _forecast(months, values, horizon)


def _forecast(months: list[date], values: list[float], horizon: int) -> dict[str, Any]:
    n = len(values)
    if n < MIN_MONTHS:
        return {
            "enough_history": False,
            "message": f"{n} complete months of history; a forecast needs at least {MIN_MONTHS} "
            f"(and {SEASONAL_MONTHS} to learn the seasons).",
            "points": [],
            "backtest": None,
            "model": None,
        }
    y = np.asarray(values, dtype=float)
    seasonal = n >= SEASONAL_MONTHS
    fitted, spec = _fit(y, seasonal)
    prediction = fitted.get_prediction(start=n, end=n + horizon - 1)
    f80 = prediction.summary_frame(alpha=0.2)
    f95 = prediction.summary_frame(alpha=0.05)
    mean = np.asarray(f80["mean"], dtype=float)
    points = [
        {
            "month": add_months(months[-1], i + 1),
            "forecast": round(float(mean[i]), 2),
            "lower_80": round(float(np.asarray(f80["pi_lower"])[i]), 2),
            "upper_80": round(float(np.asarray(f80["pi_upper"])[i]), 2),
            "lower_95": round(float(np.asarray(f95["pi_lower"])[i]), 2),
            "upper_95": round(float(np.asarray(f95["pi_upper"])[i]), 2),
        }
        for i in range(horizon)
    ]
    message = None
    if not seasonal:
        message = (
            f"{n} complete months of history: too few to learn the seasons ({SEASONAL_MONTHS} needed), "
            "so the forecast follows the level and trend only."
        )
    check = backtest(y)
    if not check["beats_seasonal_naive"]:
        note = (
            "On the held-out months this model did not beat the seasonal naive forecast; treat it with care."
        )
        message = f"{message} {note}" if message else note
    return {
        "enough_history": True,
        "message": message,
        "points": points,
        "backtest": check,
        "model": _describe(spec),
    }
