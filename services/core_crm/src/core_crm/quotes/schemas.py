"""Request and response bodies of the quote endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core_crm.core.types import (
    Instant,
    JsonObject,
    LongText,
    Money,
    Omittable,
    Percent,
    Premium,
    SaneDate,
    Str50,
    Str100,
    Str255,
    Str500,
    Url,
)
from core_crm.policies.models import PolicyType, PremiumFrequency
from core_crm.policies.schemas import PolicyNumber


class Adjustment(BaseModel):
    """A discount or surcharge: a fixed amount, or a percentage of the base premium."""

    model_config = ConfigDict(
        extra="forbid",
        # The schema states the rule the validator holds: exactly one of the two, not null.
        json_schema_extra={
            "oneOf": [
                {"required": ["amount"], "properties": {"amount": {"not": {"type": "null"}}}},
                {"required": ["percent"], "properties": {"percent": {"not": {"type": "null"}}}},
            ]
        },
    )

    type: Str50 = Field(description="e.g. `multi_policy`, `no_claims`, `young_driver`.")
    description: Str255 | None = None
    amount: Money | None = None
    percent: Percent | None = None

    @model_validator(mode="after")
    def _one(self) -> Adjustment:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give exactly one of amount or percent")
        return self


class CarrierQuote(BaseModel):
    """One carrier's offer in the comparison."""

    model_config = ConfigDict(extra="forbid")

    carrier: Str100
    premium: Premium = Field(description="Annual premium offered by the carrier.")
    coverage_amount: Money | None = None
    deductible: Money | None = None
    link: Url | None = None
    notes: Str255 | None = None


QUOTE_EXAMPLE: dict[str, Any] = {
    "customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63",
    "quote_type": "auto",
    "coverage_details": {"make": "SEAT", "model": "León", "year": 2021, "plate": "1234BCD"},
    "base_premium": "620.00",
    "discounts": [{"type": "no_claims", "percent": "10"}],
    "surcharges": [{"type": "young_driver", "amount": "45.00"}],
    "carrier_quotes": [
        {"carrier": "Mapfre", "premium": "603.00", "coverage_amount": "50000.00"},
        {"carrier": "AXA", "premium": "639.90", "coverage_amount": "60000.00"},
    ],
    "selected_carrier": "Mapfre",
}


class QuoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [QUOTE_EXAMPLE]})

    customer_id: uuid.UUID
    quote_type: PolicyType
    coverage_details: JsonObject = Field(min_length=1)
    base_premium: Premium = Field(description="Annual premium before discounts and surcharges.")
    discounts: list[Adjustment] = Field(default_factory=list, max_length=20)
    surcharges: list[Adjustment] = Field(default_factory=list, max_length=20)
    carrier_quotes: list[CarrierQuote] = Field(default_factory=list, max_length=20)
    selected_carrier: Str100 | None = None
    valid_until: Instant | None = Field(default=None, description="Default: 30 days from now.")
    notes: LongText | None = None
    metadata: JsonObject = Field(default_factory=dict)


class PricingRequest(BaseModel):
    """A risk for the quote engine to price across carriers (the engine's risk fields)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63",
                    "quote_type": "auto",
                    "risk": {
                        "postal_code": "28013",
                        "driver_age": 20,
                        "years_licensed": 1,
                        "vehicle_power_hp": 110,
                        "vehicle_age": 3,
                        "km_per_year": 12000,
                    },
                    "cover_levels": ["terceros_ampliado", "todo_riesgo"],
                }
            ]
        },
    )

    customer_id: uuid.UUID
    quote_type: PolicyType
    risk: JsonObject = Field(min_length=1, description="See the quote engine's `AutoRisk` / `HomeRisk`.")
    cover_levels: list[Str50] | None = Field(default=None, max_length=10)
    carriers: list[Str100] | None = Field(default=None, max_length=20)
    notes: LongText | None = None


class PricingRequestOut(BaseModel):
    request_id: uuid.UUID
    customer_id: uuid.UUID
    status: str = Field(description="`pricing`: the quote appears once the engine has priced it.")


class QuoteUpdate(BaseModel):
    """Editable while the quote is a draft or sent; the total is recomputed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"base_premium": "600.00"}]})

    coverage_details: Omittable[JsonObject] = None
    base_premium: Omittable[Premium] = None
    discounts: Omittable[Annotated[list[Adjustment], Field(max_length=20)]] = None
    surcharges: Omittable[Annotated[list[Adjustment], Field(max_length=20)]] = None
    carrier_quotes: Omittable[Annotated[list[CarrierQuote], Field(max_length=20)]] = None
    selected_carrier: Str100 | None = None
    valid_until: Instant | None = None
    notes: LongText | None = None
    metadata: Omittable[JsonObject] = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, mode="json")


class ConvertRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"carrier": "Mapfre", "coverage_start_date": "2026-12-01", "premium_frequency": "monthly"}
            ]
        },
    )

    carrier: Str100 | None = Field(
        default=None, description="Default: the selected, else the cheapest carrier."
    )
    coverage_start_date: SaneDate | None = Field(default=None, description="Default: today.")
    coverage_end_date: SaneDate | None = Field(default=None, description="Default: one year after the start.")
    premium_frequency: PremiumFrequency = PremiumFrequency.annual
    policy_number: PolicyNumber | None = None
    details: JsonObject | None = Field(
        default=None, description="The policy type's fields; default: coverage_details."
    )
    backdating_reason: Str500 | None = Field(
        default=None,
        description="Needed (from a supervisor) when the cover starts before the grace period.",
    )


class QuoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    quote_type: str
    coverage_details: dict[str, Any]
    base_premium: Money
    discounts: list[dict[str, Any]]
    surcharges: list[dict[str, Any]]
    total_premium: Money
    carrier_quotes: list[dict[str, Any]]
    selected_carrier: str | None
    status: str
    valid_until: datetime | None
    converted: bool
    policy_id: uuid.UUID | None
    converted_at: datetime | None
    notes: str | None
    metadata: dict[str, Any] = Field(validation_alias="attributes")
    version: int
    created_at: datetime
    updated_at: datetime


class ConversionOut(BaseModel):
    quote: QuoteOut
    policy_id: uuid.UUID
    policy_number: str
