"""The body of an inbound lead and the answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core_crm.core.types import JsonObject, LongText, PersonalId, Phone, PostalCode, Str100
from core_crm.customers.schemas import Email, Language

LEAD_EXAMPLE: dict[str, Any] = {
    "first_name": "Marta",
    "last_name": "Gil Sánchez",
    "email": "marta.gil@example.com",
    "phone": "+34 612 345 678",
    "postal_code": "46001",
    "campaign": "auto-invierno-2026",
    "interest": "auto",
    "message": "Quiero un seguro a todo riesgo para un coche nuevo.",
}


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [LEAD_EXAMPLE]})

    first_name: Str100
    last_name: Str100 | None = None
    email: Email | None = None
    phone: Phone = None
    dni: PersonalId = None
    postal_code: PostalCode = None
    campaign: Str100 | None = None
    interest: Str100 | None = Field(default=None, description="What the person asked about (e.g. `auto`).")
    message: LongText | None = None
    preferred_language: Language = "es"
    metadata: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _reachable(self) -> LeadIn:
        if not (self.email or self.phone or self.dni):
            raise ValueError("a lead needs an e-mail, a phone or a DNI/NIE")
        if self.email:
            self.email = self.email.lower()
        return self


class LeadOut(BaseModel):
    lead_id: uuid.UUID
    customer_id: uuid.UUID
    matched: bool = Field(description="An existing customer was found (nothing new was created).")
    matched_by: Literal["email", "phone", "dni"] | None


class ScoreReason(BaseModel):
    factor: Literal["source", "completeness", "replies", "quotes_requested", "calls"]
    points: int
    detail: str


class LeadScoreOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "5d0f3a5e-2c4b-4f1e-9b7a-1c2d3e4f5a6b",
                    "score": 55,
                    "reasons": [
                        {"factor": "source", "points": 15, "detail": "web"},
                        {"factor": "completeness", "points": 10, "detail": "email, mobile"},
                        {"factor": "quotes_requested", "points": 30, "detail": "2"},
                    ],
                    "updated_at": "2026-12-07T10:00:00Z",
                }
            ]
        },
    )

    customer_id: uuid.UUID
    score: int = Field(ge=0, le=100)
    reasons: list[ScoreReason]
    updated_at: datetime


class RankedLead(LeadScoreOut):
    first_name: str
    last_name: str
    email: str | None
    mobile: str | None
    phone: str | None
    status: str
    lead_source: str | None
    owner_id: uuid.UUID | None
