"""Request and response bodies of the customer endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core_crm.core import spain
from core_crm.core.types import (
    CompanyId,
    Iban,
    JsonObject,
    LongText,
    Omittable,
    PersonalId,
    Phone,
    PostalCode,
    SaneDate,
    Str100,
    Str255,
    Tags,
)
from core_crm.customers.models import ContactChannel, CustomerSegment, CustomerType

Email = Annotated[EmailStr, Field(max_length=255)]
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1, e.g. `es`, `ca`, `en`.")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")]
EditableStatus = Literal["prospect", "active", "inactive"]

CUSTOMER_EXAMPLE: dict[str, Any] = {
    "customer_type": "individual",
    "first_name": "Lucía",
    "last_name": "Martín Gómez",
    "email": "lucia.martin@example.com",
    "mobile": "612 345 678",
    "dni": "12345678Z",
    "birth_date": "1985-04-12",
    "address_line1": "Calle Mayor 12, 3º B",
    "city": "Madrid",
    "postal_code": "28013",
    "iban": "ES91 2100 0418 4502 0005 1332",
    "preferred_channel": "whatsapp",
    "tags": ["familia", "referido"],
}


class _Address(BaseModel):
    """Spanish address rule shared by create and update: the postal code decides the province."""

    @staticmethod
    def checked_province(country: str | None, postal_code: str | None, province: str | None) -> str | None:
        if (country or "ES") != "ES":
            return province
        return spain.check_postal_code_and_province(postal_code, province)


class CustomerCreate(_Address):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CUSTOMER_EXAMPLE]})

    customer_type: CustomerType = CustomerType.individual
    first_name: Str100
    last_name: Str100
    email: Email | None = None
    phone: Phone = None
    mobile: Phone = None
    dni: PersonalId = None
    birth_date: SaneDate | None = None
    address_line1: Str255 | None = None
    address_line2: Str255 | None = None
    city: Str100 | None = None
    province: Str100 | None = None
    postal_code: PostalCode = None
    country: Country = "ES"
    company_name: Str255 | None = None
    tax_id: CompanyId = None
    iban: Iban = None
    status: EditableStatus = "active"
    lead_source: Str100 | None = None
    preferred_channel: ContactChannel | None = None
    preferred_language: Language = "es"
    owner_id: uuid.UUID | None = Field(default=None, description="The agent who looks after this customer.")
    tags: Tags = Field(default_factory=list)
    notes: LongText | None = None
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("birth_date")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("cannot be in the future")
        return value

    @model_validator(mode="after")
    def _rules(self) -> CustomerCreate:
        if self.customer_type == CustomerType.business and not self.company_name:
            raise ValueError("company_name is required for a business customer")
        self.province = self.checked_province(self.country, self.postal_code, self.province)
        return self


class CustomerUpdate(BaseModel):
    """Only the fields sent change; send null to clear an optional field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"mobile": "+34 699 111 222", "tags": ["vip"], "postal_code": "08001"}]
        },
    )

    customer_type: Omittable[CustomerType] = None
    first_name: Omittable[Str100] = None
    last_name: Omittable[Str100] = None
    email: Email | None = None
    phone: Phone = None
    mobile: Phone = None
    dni: PersonalId = None
    birth_date: SaneDate | None = None
    address_line1: Str255 | None = None
    address_line2: Str255 | None = None
    city: Str100 | None = None
    province: Str100 | None = None
    postal_code: PostalCode = None
    country: Omittable[Country] = None
    company_name: Str255 | None = None
    tax_id: CompanyId = None
    iban: Iban = None
    status: Omittable[EditableStatus] = None
    segment: CustomerSegment | None = None
    lead_source: Str100 | None = None
    preferred_channel: ContactChannel | None = None
    preferred_language: Omittable[Language] = None
    owner_id: uuid.UUID | None = None
    tags: Omittable[Tags] = None
    notes: LongText | None = None
    metadata: Omittable[JsonObject] = None

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ContactChangeIn(BaseModel):
    """A new phone, mobile or e-mail for my own record: a code is sent to it (SMS or e-mail), and the
    change is applied when I send the code back."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"field": "mobile", "value": "+34 699 111 222"}]}
    )

    field: Literal["phone", "mobile", "email"]
    value: str = Field(
        min_length=1,
        max_length=255,
        description="A phone (international E.164 or Spanish national) or an e-mail address, per `field`.",
    )

    @field_validator("value")
    @classmethod
    def _valid_for_field(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("field") == "email":
            try:
                return str(_EMAIL.validate_python(value)).lower()
            except ValidationError:
                raise ValueError("is not a valid e-mail address") from None
        return spain.phone(value)


class ContactChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    field: Literal["phone", "mobile", "email"]
    value: str
    expires_at: datetime


class ContactCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "123456"}]})

    code: str = Field(pattern=r"^[0-9]{6}$", description="The six digits sent to the new number or address.")


# Contact details that identify the customer to calls and messages: a customer changes them only by
# proving they hold the new one (``/customers/me/contact-changes``).
PROVEN_FIELDS = frozenset({"phone", "mobile", "email"})

# What a customer may change on their own record (self-service); the rest is staff work.
SELF_SERVICE_FIELDS = frozenset(
    {
        "address_line1",
        "address_line2",
        "city",
        "province",
        "postal_code",
        "iban",
        "preferred_channel",
        "preferred_language",
    }
)
NOT_NULL_FIELDS = frozenset(
    {
        "customer_type",
        "first_name",
        "last_name",
        "country",
        "status",
        "preferred_language",
        "tags",
        "metadata",
    }
)


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_type: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    dni: str | None
    birth_date: date | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    province: str | None
    postal_code: str | None
    country: str
    company_name: str | None
    tax_id: str | None
    iban: str | None
    status: str
    segment: str | None
    lead_source: str | None
    preferred_channel: str | None
    preferred_language: str
    owner_id: uuid.UUID | None
    user_id: uuid.UUID | None
    tags: list[str]
    notes: str | None
    metadata: dict[str, Any] = Field(validation_alias="attributes")
    customer_since: date
    merged_into: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class MergeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"duplicate_id": "7a1c1f0e-4a4b-4c8e-9a4e-2b8f3c2d1e0f"}]},
    )

    duplicate_id: uuid.UUID = Field(description="The duplicate folded into the customer in the path.")


class MergeResult(BaseModel):
    survivor: CustomerOut
    merged_id: uuid.UUID
    moved: dict[str, int] = Field(description="How many records of each kind moved to the survivor.")
    filled_fields: list[str] = Field(description="Empty fields of the survivor filled from the duplicate.")


class CustomerStats(BaseModel):
    customer_id: uuid.UUID
    segment: str | None
    suggested_segment: str
    tenure_years: Decimal
    policies_total: int
    policies_active: int
    policies_by_type: dict[str, int]
    annual_premium: Decimal = Field(description="Annualised premium of the active policies.")
    claims_total: int
    claims_open: int
    claims_last_3_years: int
    claimed_amount: Decimal
    paid_amount: Decimal
    quotes_total: int
    quotes_converted: int
    interactions_total: int
    last_interaction_at: datetime | None
    open_tasks: int
    lifetime_value: Decimal


class LifetimeValue(BaseModel):
    customer_id: uuid.UUID
    premium_earned: Decimal = Field(description="Premium of every term so far, pro rata to today.")
    claims_paid: Decimal
    projected_premium: Decimal = Field(description="Active annual premium × expected remaining years.")
    expected_remaining_years: Decimal
    lifetime_value: Decimal
    currency: str = "EUR"


class SegmentResult(BaseModel):
    customer_id: uuid.UUID
    previous_segment: str | None
    segment: str
    changed: bool
    reasons: list[str]
