"""Request and response bodies of dynamic pricing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]
# A score from 0 to 1, four decimals at most: a number or a decimal string, as the document says.
SCORE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.0001},
        {"type": "string", "pattern": r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"},
    ]
}
Score = Annotated[
    Decimal,
    Field(ge=0, le=1, max_digits=6, decimal_places=4),
    WithJsonSchema(SCORE_SCHEMA, mode="validation"),
]


class DynamicPricingRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"calculation_id": "5b8e0f0e-8d43-4c1b-9f7a-2a1e9c7d1f00", "churn_risk": "0.7"}]
        },
    )

    calculation_id: uuid.UUID = Field(description="A stored calculation or comparison.")
    churn_risk: Score | None = Field(
        default=None,
        description="0-1. Absent: the customer's latest score from analytics (customer.churn_scored), "
        "else neutral (0).",
    )
    customer_value: Score | None = Field(
        default=None, description="0-1, the customer's value to the broker. Absent: neutral (0.5)."
    )


class DynamicOffer(BaseModel):
    product_code: str
    carrier: str
    cover_level: str
    tariff_version: int
    commission_band: tuple[Money, Money] = Field(description="Discount (%) the carrier lets the broker give.")
    recommended_discount_percent: Money
    total_before: Money
    total_after: Money
    saving: Money
    why: str


class DynamicPricingOut(BaseModel):
    calculation_id: uuid.UUID
    churn_risk: Money
    customer_value: Money
    signals: str = Field(
        description="`given` (in the request), `analytics` (the customer's latest churn score) or `neutral`."
    )
    offers: list[DynamicOffer]
