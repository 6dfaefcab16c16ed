"""Bodies of OptiMax."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]


class Advice(BaseModel):
    kind: Literal["bundle", "coverage_gap", "cheaper_at_renewal"]
    title: str
    saving: Money = Field(description="Estimated yearly saving (0 for a coverage gap).")
    reason: str
    policy_ids: list[uuid.UUID] = Field(default_factory=list)


class CustomerAdvice(BaseModel):
    customer_id: uuid.UUID
    live_policies: int
    annual_premium: Money
    potential_saving: Money
    recommendations: list[Advice]


class PortfolioRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_ids": ["0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63"]}]},
    )

    customer_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class PortfolioOut(BaseModel):
    customers: list[CustomerAdvice]
    annual_premium: Money
    potential_saving: Money
