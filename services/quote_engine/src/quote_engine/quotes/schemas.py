"""Request and response bodies of calculate, compare and stored quotes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from aintech_shared.instants import Day
from aintech_shared.jsontypes import JsonInt
from quote_engine.observed.schemas import ObservedPriceOut

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]
PostalCode = Annotated[
    str, StringConstraints(pattern=r"^(0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}$")
]  # a Spanish postal code: province 01-52 then three digits
Frequency = Literal["annual", "semiannual", "quarterly", "monthly"]
ProductCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
CoverCode = ProductCode
SaneDate = Annotated[Day, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class _Risk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    postal_code: PostalCode = Field(description="Spanish postal code of the risk (rating zone).")
    policies_held: JsonInt = Field(default=0, ge=0, le=50, description="Other policies the customer holds.")
    claims_5y: JsonInt = Field(default=0, ge=0, le=50, description="Claims in the last five years.")
    payment_frequency: Frequency = "annual"

    def fields(self) -> dict[str, Decimal | bool | str]:
        """The risk as the rating engine reads it (numbers as Decimal)."""
        out: dict[str, Decimal | bool | str] = {}
        for key, value in self.model_dump().items():
            if key == "line":
                continue
            out[key] = value if isinstance(value, bool | str | Decimal) else Decimal(str(value))
        return out


class AutoRisk(_Risk):
    """A private car or motorcycle and its usual driver."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "line": "auto",
                    "postal_code": "28013",
                    "driver_age": 20,
                    "years_licensed": 1,
                    "vehicle_type": "car",
                    "vehicle_value": "18000",
                    "vehicle_power_hp": 110,
                    "vehicle_age": 3,
                    "km_per_year": 12000,
                    "garage": False,
                    "use": "private",
                }
            ]
        },
    )

    line: Literal["auto"]
    driver_age: JsonInt = Field(ge=16, le=110)
    years_licensed: JsonInt = Field(ge=0, le=95)
    no_claims_years: JsonInt = Field(default=0, ge=0, le=95)
    vehicle_type: Literal["car", "motorcycle"] = "car"
    vehicle_value: Decimal = Field(
        default=Decimal(0), ge=0, le=Decimal("2000000"), max_digits=12, decimal_places=2
    )
    vehicle_power_hp: JsonInt = Field(ge=1, le=2000)
    vehicle_age: JsonInt = Field(ge=0, le=100)
    km_per_year: JsonInt = Field(ge=0, le=500000)
    garage: StrictBool = False
    use: Literal["private", "commercial"] = "private"

    @field_validator("years_licensed")
    @classmethod
    def _licensed(cls, value: int, info: ValidationInfo) -> int:
        age = info.data.get("driver_age")
        if age is not None and value > max(age - 16, 0):
            raise ValueError("cannot exceed the driver's age minus 16")
        return value

    @field_validator("no_claims_years")
    @classmethod
    def _no_claims(cls, value: int, info: ValidationInfo) -> int:
        licensed = info.data.get("years_licensed")
        if licensed is not None and value > licensed:
            raise ValueError("cannot exceed years_licensed")
        return value


class HomeRisk(_Risk):
    """A dwelling: building (continente) and contents (contenido) capitals."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "line": "home",
                    "postal_code": "46001",
                    "building_capital": "180000",
                    "contents_capital": "30000",
                    "construction_year": 1998,
                    "home_type": "apartment",
                    "alarm": False,
                }
            ]
        },
    )

    line: Literal["home"]
    building_capital: Decimal = Field(ge=0, le=Decimal("20000000"), max_digits=12, decimal_places=2)
    contents_capital: Decimal = Field(
        default=Decimal(0), ge=0, le=Decimal("5000000"), max_digits=12, decimal_places=2
    )
    construction_year: JsonInt = Field(ge=1800, le=2100)
    home_type: Literal["apartment", "house", "chalet"] = "apartment"
    alarm: StrictBool = False

    def fields(self) -> dict[str, Decimal | bool | str]:
        out = super().fields()
        out["insured_capital"] = self.building_capital + self.contents_capital
        return out


Risk = Annotated[AutoRisk | HomeRisk, Field(discriminator="line")]


class CalculateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "product_code": "mapfre-auto",
                    "cover_level": "terceros_ampliado",
                    "risk": {
                        "line": "auto",
                        "postal_code": "28013",
                        "driver_age": 20,
                        "years_licensed": 1,
                        "vehicle_power_hp": 110,
                        "vehicle_age": 3,
                        "km_per_year": 12000,
                    },
                }
            ]
        },
    )

    product_code: ProductCode
    cover_level: CoverCode
    risk: Risk
    effective_date: SaneDate | None = Field(default=None, description="Default: today (UTC).")
    customer_id: uuid.UUID | None = None


class CompareRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "risk": {
                        "line": "home",
                        "postal_code": "46001",
                        "building_capital": "180000",
                        "contents_capital": "30000",
                        "construction_year": 1998,
                    },
                    "cover_levels": ["completo", "todo_riesgo"],
                }
            ]
        },
    )

    risk: Risk
    cover_levels: list[CoverCode] | None = Field(
        default=None, max_length=20, description="Cover levels to compare; default: every level."
    )
    carriers: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=20, description="Only these carriers; default: all."
    )
    effective_date: SaneDate | None = Field(default=None, description="Default: today (UTC).")
    customer_id: uuid.UUID | None = None


class LineOut(BaseModel):
    step: int
    kind: str = Field(description="base | factor | discount | surcharge | minimum | cap | tax")
    table: str
    row: str
    input: str | None
    factor: Money | None
    amount: Money
    running_total: Money
    note: str | None = None


class TaxOut(BaseModel):
    code: str
    name: str
    base: Money
    amount: Money
    legal_reference: str


class Pin(BaseModel):
    tariff_version_id: uuid.UUID
    product_code: str
    carrier: str
    version: int
    digest: str


class CoverOut(BaseModel):
    code: str
    name: str
    rank: int
    covers: list[str]
    limits: dict[str, Money]
    deductible: Money


class OfferOut(BaseModel):
    """One product at one cover level, priced (or refused with the reasons)."""

    product_code: str
    carrier: str
    product_name: str
    line: str
    cover: CoverOut
    tariff: Pin
    eligible: bool
    reasons: list[str] = Field(default_factory=list)
    zone: str | None = None
    net_premium: Money | None = None
    compulsory_rc_premium: Money | None = None
    taxes: list[TaxOut] = Field(default_factory=list)
    total: Money | None = None
    lines: list[LineOut] = Field(default_factory=list)
    source: Literal["rated", "observed"] = "rated"


class TaxAmountOut(BaseModel):
    """A receipt tax or surcharge in a comparison's summary: its name and legal reference are at
    `GET /api/quotes/tariffs/taxes` and in an offer's explanation."""

    code: str
    base: Money
    amount: Money


class OfferSummaryOut(BaseModel):
    """An offer as a comparison answers it by default: its figures without the explanation lines."""

    product_code: str
    carrier: str
    product_name: str
    line: str
    cover: CoverOut
    tariff: Pin
    eligible: bool
    reasons: list[str] = Field(default_factory=list)
    zone: str | None = None
    net_premium: Money | None = None
    compulsory_rc_premium: Money | None = None
    taxes: list[TaxAmountOut] = Field(default_factory=list)
    total: Money | None = None
    source: Literal["rated", "observed"] = "rated"


class RankedOfferSummaryOut(OfferSummaryOut):
    rank: int
    score: Money = Field(
        description="Value score: lower is better (price adjusted for cover and deductible)."
    )
    missing_covers: list[str] = Field(description="Guarantees other offers include and this one lacks.")


class CalculationOut(BaseModel):
    id: uuid.UUID
    kind: Literal["calculation"] = "calculation"
    priced_on: date
    created_at: datetime
    request: dict[str, Any]
    offer: OfferOut


class RankedOffer(OfferOut):
    rank: int
    score: Money = Field(
        description="Value score: lower is better (price adjusted for cover and deductible)."
    )
    missing_covers: list[str] = Field(description="Guarantees other offers include and this one lacks.")


class Recommendation(BaseModel):
    product_code: str
    carrier: str
    cover_level: str
    total: Money
    why: str


class ComparisonOut(BaseModel):
    id: uuid.UUID
    kind: Literal["comparison"] = "comparison"
    priced_on: date
    created_at: datetime
    request: dict[str, Any]
    offers: list[RankedOffer]
    ineligible: list[OfferOut]
    cover_matrix: dict[str, dict[str, bool]] = Field(
        description="Guarantee -> `<product>/<cover level>` -> included: the cover differences side by side."
    )
    recommendation: Recommendation | None
    observed: list[ObservedPriceOut] = Field(
        default_factory=list,
        description="Prices the carriers' portals showed for this comparison (a scraping job that named "
        "it) or for the same risk in the last 30 days, beside each carrier's tariff total, with their age.",
    )


class ComparisonSummaryOut(BaseModel):
    """A comparison as `POST /compare` answers it by default (decision 0061): each offer's figures,
    without its explanation lines (`GET /{id}/offers/{rank}`, or `?explain=true`)."""

    id: uuid.UUID
    kind: Literal["comparison"] = "comparison"
    priced_on: date
    created_at: datetime
    request: dict[str, Any]
    offers: list[RankedOfferSummaryOut]
    ineligible: list[OfferSummaryOut]
    cover_matrix: dict[str, dict[str, bool]] = Field(
        description="Guarantee -> `<product>/<cover level>` -> included: the cover differences side by side."
    )
    recommendation: Recommendation | None
    observed: list[ObservedPriceOut] = Field(default_factory=list)


# What a comparison's summary leaves out of its full answer (ComparisonOut -> ComparisonSummaryOut).
_OFFER_DETAIL: dict[str, Any] = {"lines": True, "taxes": {"__all__": {"name", "legal_reference"}}}
SUMMARY_EXCLUDE: dict[str, Any] = {
    "offers": {"__all__": _OFFER_DETAIL},
    "ineligible": {"__all__": _OFFER_DETAIL},
}


class RepricedOut(BaseModel):
    calculation_id: uuid.UUID
    priced_on: date
    original_total: Money | None
    repriced_total: Money | None
    unchanged: bool
    offer: OfferOut


class DryRunOut(BaseModel):
    tariff_version_id: uuid.UUID
    product_code: str
    sampled: int
    changed: int
    increased: int
    decreased: int
    newly_ineligible: int
    mean_change: Money
    max_increase: Money
    max_decrease: Money
    examples: list[dict[str, Any]]
