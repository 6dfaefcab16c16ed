"""Request parameters and answers of the KPI endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.errors import UnprocessableEntity
from analytics.core.runtime import RuntimeDep
from analytics.kpis.service import Period

Line = Literal["auto", "home", "life", "health", "business"]
Number = Decimal | int | float | None


class KpiValue(BaseModel):
    value: Number
    previous: Number = Field(description="The previous period of the same length.")
    change_vs_previous: Decimal | None = Field(description="Relative change (0.1 = +10 %).")
    year_before: Number = Field(description="The same dates a year before.")
    change_vs_year_before: Decimal | None


class KpiGroup(BaseModel):
    key: str | None = Field(description="The carrier, line or province (null: everything).")
    kpis: dict[str, KpiValue]


class Span(BaseModel):
    start: date
    end: date


class KpiReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "period": {"start": "2026-01-01", "end": "2026-03-31"},
                "previous_period": {"start": "2025-10-03", "end": "2025-12-31"},
                "year_before": {"start": "2025-01-01", "end": "2025-03-31"},
                "filters": {"carrier": "Mapfre"},
                "by": "line",
                "groups": [
                    {
                        "key": "home",
                        "kpis": {
                            "written_premium": {
                                "value": "12840.00",
                                "previous": "11020.00",
                                "change_vs_previous": "0.1652",
                                "year_before": "9800.00",
                                "change_vs_year_before": "0.3102",
                            }
                        },
                    }
                ],
            }
        }
    )

    period: Span
    previous_period: Span
    year_before: Span
    filters: dict[str, str]
    by: str | None
    groups: list[KpiGroup]


class AgentRow(BaseModel):
    agent_id: str
    calls: int
    answered: int
    answer_rate: Decimal | None
    avg_handle_seconds: float | None
    conversions: int = Field(description="New policies sold within 30 days of the agent's last call.")


class ChannelRow(BaseModel):
    channel: str
    inbound: int
    outbound: int
    median_first_response_seconds: float | None


class MonthRow(BaseModel):
    month: str
    written: Decimal
    terms: int


class Dashboard(BaseModel):
    type: str
    kpis: KpiReport
    breakdown: KpiReport | None = None
    premium_by_month: list[MonthRow] = []
    agents: list[AgentRow] = []
    channels: list[ChannelRow] = []


@dataclass(frozen=True)
class Query_:
    """The period and filters every KPI endpoint takes."""

    period: Period
    filters: dict[str, str]


def _text(max_length: int, description: str) -> Any:
    return Query(min_length=1, max_length=max_length, pattern=r"^[^\x00]*$", description=description)


async def kpi_query(
    rt: RuntimeDep,
    start: Annotated[date | None, Query(description="First day (default: 89 days before `end`).")] = None,
    end: Annotated[date | None, Query(description="Last day, inclusive (default: today).")] = None,
    carrier: Annotated[str | None, _text(100, "Only this carrier.")] = None,
    line: Annotated[Line | None, Query(description="Only this line of business.")] = None,
    province: Annotated[str | None, _text(100, "Only customers of this province.")] = None,
    agent: Annotated[str | None, _text(64, "Only this agent (agent figures).")] = None,
) -> Query_:
    end = end or date.today()
    start = start or end - timedelta(days=89)
    if start > end:
        raise UnprocessableEntity(f"The range is reversed: start {start} is after end {end}.")
    limit = rt.settings.max_range_days
    if (end - start).days + 1 > limit:
        raise UnprocessableEntity(
            f"The range spans {(end - start).days + 1} days; at most {limit} are allowed."
        )
    if start.year < 1976 or end.year > 2100:
        raise UnprocessableEntity("Dates must lie between 1976-01-01 and 2100-12-31.")
    filters = {
        k: v for k, v in {"carrier": carrier, "line": line, "province": province, "agent": agent}.items() if v
    }
    return Query_(period=Period(start, end), filters=filters)


KpiQuery = Annotated[Query_, Depends(kpi_query)]
