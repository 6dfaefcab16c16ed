"""`GET /sentiment`: average customer-message sentiment per agent or channel."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from aintech_shared.errors import responses
from analytics.core.access import Reader
from analytics.core.runtime import RuntimeDep
from analytics.kpis.schemas import KpiQuery, Span
from analytics.sentiment import repository

router = APIRouter(tags=["sentiment"])


class SentimentGroup(BaseModel):
    key: str = Field(description="The agent id or channel ('' for messages no agent had yet).")
    messages: int
    average: float = Field(description="Average score, -1 (very negative) to 1 (very positive).")
    positive: int
    neutral: int
    negative: int
    very_negative: int = Field(description="Messages at or below -0.6 (supervisors were notified).")


class SentimentReport(BaseModel):
    period: Span
    by: Literal["agent", "channel"]
    groups: list[SentimentGroup]


@router.get(
    "/sentiment",
    summary="Average sentiment of inbound customer messages per agent or channel",
    response_model=SentimentReport,
    responses=responses((403, "Not allowed to read analytics"), (422, "Reversed or too long a range")),
)
async def get_sentiment(
    rt: RuntimeDep,
    query: KpiQuery,
    _: Reader,
    by: Annotated[Literal["agent", "channel"], Query(description="Group by agent or by channel.")] = "agent",
) -> SentimentReport:
    rows = await repository.averages(rt.store, period=query.period, by=by)
    return SentimentReport(
        period=Span(start=query.period.start, end=query.period.end),
        by=by,
        groups=[SentimentGroup.model_validate(r) for r in rows],
    )
