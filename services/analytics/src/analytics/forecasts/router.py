"""Forecasts: `POST /forecast/sales`, `/forecast/claims`, `/predict/growth` (at `/api/analytics/...`)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.errors import responses
from aintech_shared.jsontypes import JsonInt
from analytics.core.access import Reader
from analytics.core.runtime import RuntimeDep
from analytics.forecasts import service

router = APIRouter(tags=["forecasts"])

ERRORS = responses((403, "Not allowed to read analytics"), (422, "A horizon or history length out of range"))


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    horizon: JsonInt = Field(
        default=12, ge=1, le=24, description="Months to forecast after the last complete one."
    )
    history_months: JsonInt = Field(
        default=60, ge=12, le=240, description="Complete months of history to learn from."
    )


class HistoryPoint(BaseModel):
    month: date
    value: float


class ForecastPoint(BaseModel):
    month: date
    forecast: float
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float


class Backtest(BaseModel):
    held_out_months: int
    model: str
    mase: float | None = Field(description="Mean absolute error ÷ in-sample seasonal naive error.")
    seasonal_naive_mase: float | None = Field(
        description="The seasonal naive forecast's MASE on the same months."
    )
    naive_lag_months: int
    beats_seasonal_naive: bool


class Forecast(BaseModel):
    series: str
    unit: str
    enough_history: bool
    message: str | None = Field(description="Why there is no (seasonal) forecast, or a backtest warning.")
    model: str | None
    history: list[HistoryPoint]
    points: list[ForecastPoint] = Field(description="The forecast with 80% and 95% prediction intervals.")
    backtest: Backtest | None


async def _answer(rt: RuntimeDep, kind: str, body: ForecastRequest) -> Forecast:
    result = await service.forecast(
        rt.store, kind=kind, horizon=body.horizon, history_months=body.history_months
    )
    return Forecast.model_validate(result)


@router.post(
    "/forecast/sales",
    summary="Written premium per month, forecast",
    response_model=Forecast,
    responses=ERRORS,
)
async def forecast_sales(rt: RuntimeDep, body: ForecastRequest, _: Reader) -> Forecast:
    return await _answer(rt, "sales", body)


@router.post(
    "/forecast/claims",
    summary="Claims reported per month, forecast",
    response_model=Forecast,
    responses=ERRORS,
)
async def forecast_claims(rt: RuntimeDep, body: ForecastRequest, _: Reader) -> Forecast:
    return await _answer(rt, "claims", body)


@router.post(
    "/predict/growth",
    summary="Policies in force per month end, forecast",
    response_model=Forecast,
    responses=ERRORS,
)
async def predict_growth(rt: RuntimeDep, body: ForecastRequest, _: Reader) -> Forecast:
    return await _answer(rt, "growth", body)
