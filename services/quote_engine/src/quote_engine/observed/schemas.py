"""An observed price as a comparison shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]


class ObservedPriceOut(BaseModel):
    carrier: str = Field(description="The carrier's name, as in the tariffs (Mapfre, AXA, ...).")
    product: str | None = Field(description="The carrier's name for the offer on its portal.")
    observed_premium: Money = Field(description="Annual premium with taxes the portal showed.")
    currency: str
    observed_at: datetime
    age_hours: float = Field(description="How old the observation is, in hours, when this answer was made.")
    tariff_total: Money | None = Field(
        description="The carrier's cheapest eligible tariff total in this comparison (null: none)."
    )
    difference: Money | None = Field(description="observed_premium - tariff_total.")
    match: Literal["quote", "risk"] = Field(
        description="`quote`: the scraping job named this comparison; "
        "`risk`: same postal code and driver age."
    )
    job_id: uuid.UUID
