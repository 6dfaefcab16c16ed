"""KPIs and dashboards: `GET /kpis`, `GET /dashboard/{type}` (reached at `/api/analytics/...`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from aintech_shared.errors import responses
from analytics.core.access import Reader
from analytics.core.runtime import RuntimeDep
from analytics.kpis import dashboards, service
from analytics.kpis.schemas import Dashboard, KpiQuery, KpiReport

router = APIRouter(tags=["kpis"])

ERRORS = responses(
    (403, "Not allowed to read analytics"),
    (422, "Reversed or too long a range, an unknown filter value or breakdown"),
)


@router.get(
    "/kpis",
    summary="Every KPI of a period, with its change against the previous period and a year before",
    response_model=KpiReport,
    responses=ERRORS,
)
async def get_kpis(
    rt: RuntimeDep,
    query: KpiQuery,
    _: Reader,
    by: Annotated[
        Literal["carrier", "line", "province"] | None, Query(description="Break the figures down by this.")
    ] = None,
) -> KpiReport:
    report = await service.kpis(rt.store, period=query.period, filters=query.filters, by=by)
    return KpiReport.model_validate(report)


@router.get(
    "/dashboard/{kind}",
    summary="A dashboard's figures: sales, agents, customers or financial",
    response_model=Dashboard,
    responses=ERRORS,
)
async def get_dashboard(
    rt: RuntimeDep,
    query: KpiQuery,
    _: Reader,
    kind: Annotated[Literal["sales", "agents", "customers", "financial"], Path(description="The dashboard.")],
) -> Dashboard:
    return await dashboards.build(rt.store, kind=kind, period=query.period, filters=query.filters)
