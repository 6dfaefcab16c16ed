"""Request and response bodies of the policy endpoints, with each type's own fields."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError, model_validator

from core_crm.core.types import (
    JsonObject,
    LongText,
    Money,
    Omittable,
    Premium,
    SaneDate,
    SmallMoney,
    Str20,
    Str50,
    Str100,
    Str255,
    Str500,
    Url,
)
from core_crm.policies.models import PolicyType, PremiumFrequency


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AutoDetails(_Details):
    make: Str100
    model: Str100
    year: int = Field(ge=1950, le=2100)
    plate: Str20 = Field(description="Registration plate, e.g. 1234 BCD (spaces and dashes ignored).")
    vin: Str50 | None = None
    usage: Literal["private", "commercial"] = "private"


class HomeDetails(_Details):
    property_address: Str255
    property_type: Literal["apartment", "house", "chalet", "commercial", "other"]
    property_value: Money | None = None
    construction_year: int | None = Field(default=None, ge=1700, le=2100)
    square_meters: int | None = Field(default=None, ge=1, le=100_000)


class LifeDetails(_Details):
    insured_sum: Money
    beneficiaries: list[Str255] = Field(default_factory=list, max_length=10)
    smoker: bool = False


class HealthDetails(_Details):
    plan: Str100
    insured_people: int = Field(default=1, ge=1, le=20)
    dental: bool = False
    copayment: bool = False


class BusinessDetails(_Details):
    activity: Str255
    cnae: Str20 | None = Field(default=None, description="Spanish activity code (CNAE).")
    employees: int = Field(default=0, ge=0, le=1_000_000)
    annual_revenue: Money | None = None


DETAILS: dict[str, type[_Details]] = {
    "auto": AutoDetails,
    "home": HomeDetails,
    "life": LifeDetails,
    "health": HealthDetails,
    "business": BusinessDetails,
}


def validate_details(policy_type: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The type's fields, validated; ValueError naming the problems otherwise."""
    model = DETAILS[policy_type]
    try:
        parsed = TypeAdapter(model).validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"invalid {policy_type} details: {problems}") from None
    details: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    if policy_type == "auto":
        details["plate"] = "".join(c for c in details["plate"] if c.isalnum()).upper()
    return details


PolicyNumber = Annotated[str, Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]*$")]

POLICY_EXAMPLE: dict[str, Any] = {
    "customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63",
    "policy_type": "auto",
    "carrier": "Mapfre",
    "coverage_start_date": "2026-03-01",
    "coverage_end_date": "2027-03-01",
    "premium_amount": "48.50",
    "premium_frequency": "monthly",
    "coverage_amount": "50000.00",
    "details": {"make": "SEAT", "model": "León", "year": 2021, "plate": "1234 BCD"},
}


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [POLICY_EXAMPLE]})

    customer_id: uuid.UUID
    policy_type: PolicyType
    carrier: Str100
    policy_number: PolicyNumber | None = Field(
        default=None, description="Carrier's number; generated if omitted."
    )
    coverage_start_date: SaneDate
    coverage_end_date: SaneDate
    premium_amount: Premium = Field(description="Per payment, at `premium_frequency`.")
    premium_frequency: PremiumFrequency = PremiumFrequency.annual
    coverage_amount: Money | None = Field(default=None, description="Maximum the policy pays per claim.")
    deductible: SmallMoney | None = None
    status: Literal["pending", "active"] = "active"
    backdating_reason: Str500 | None = Field(
        default=None,
        description="Needed (from a supervisor) when the cover starts more than "
        "`CORE_CRM_BACKDATE_GRACE_DAYS` (default 30) days before today; kept on the policy.",
    )
    details: JsonObject = Field(
        default_factory=dict, description="The policy type's own fields (see schemas)."
    )
    policy_document_url: Url | None = None
    certificate_url: Url | None = None
    notes: LongText | None = None
    metadata: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rules(self) -> PolicyCreate:
        if self.coverage_end_date <= self.coverage_start_date:
            raise ValueError("coverage_end_date must be after coverage_start_date")
        self.details = validate_details(self.policy_type.value, self.details)
        return self


class PolicyUpdate(BaseModel):
    """Editable fields; the term and the premium change only through renewal."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"coverage_amount": "60000.00"}, {"auto_renew": True}]},
    )

    carrier: Omittable[Str100] = None
    premium_frequency: Omittable[PremiumFrequency] = None
    coverage_amount: Money | None = None
    deductible: SmallMoney | None = None
    details: Omittable[JsonObject] = None
    policy_document_url: Url | None = None
    certificate_url: Url | None = None
    notes: LongText | None = None
    metadata: Omittable[JsonObject] = None
    auto_renew: Omittable[StrictBool] = Field(
        default=None,
        description="Renew automatically: the quote engine prices the next term before the due date "
        "and the policy renews on it unless the premium rises above the allowed threshold "
        "(then, or with no price, the agent gets a task).",
    )

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class CancelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Vehículo vendido"}]}
    )

    reason: Str255


class RenewRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"premium_amount": "51.20", "coverage_end_date": "2028-03-01"}]},
    )

    premium_amount: Premium = Field(description="Premium of the new term, at the policy's frequency.")
    coverage_end_date: SaneDate | None = Field(
        default=None, description="Default: one year after the current end."
    )
    coverage_amount: Money | None = None


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    policy_number: str
    policy_type: str
    carrier: str
    coverage_start_date: date
    coverage_end_date: date
    premium_amount: Money
    premium_frequency: str
    annual_premium: Money
    coverage_amount: Money | None
    deductible: Money | None
    status: str
    cancellation_reason: str | None
    cancelled_at: datetime | None
    term_number: int
    renewal_confirmed_at: datetime | None = Field(
        description="When the customer confirmed the current term's renewal (CONFIRMAR to the "
        "reminder); null until then and again once renewed."
    )
    renewal_confirmed_via: str | None = Field(description="The channel of that confirmation.")
    auto_renew: bool = Field(description="Whether the policy renews automatically (see `PATCH`).")
    details: dict[str, Any]
    policy_document_url: str | None
    certificate_url: str | None
    notes: str | None
    metadata: dict[str, Any] = Field(validation_alias="attributes")
    backdating_reason: str | None = Field(
        description="Why the cover starts before the grace period, as the supervisor recorded it."
    )
    backdated_by: uuid.UUID | None = Field(description="The supervisor who accepted the backdated start.")
    version: int
    created_at: datetime
    updated_at: datetime


class TermOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    term_number: int
    start_date: date
    end_date: date
    premium_amount: Money
    premium_frequency: str
    coverage_amount: Money | None
    created_at: datetime


class CoverageOut(BaseModel):
    policy_id: uuid.UUID
    date: date
    covered: bool
    reason: str
    term: TermOut | None
    coverage_amount: Decimal | None
