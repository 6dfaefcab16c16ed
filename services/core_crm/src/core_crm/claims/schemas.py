"""Request and response bodies of the claim endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from core_crm.core.base import utcnow
from core_crm.core.types import (
    Instant,
    JsonObject,
    LongText,
    Money,
    Omittable,
    Str50,
    Str100,
    Str255,
    Str500,
)


class ClaimCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "policy_id": "5d0f3a5e-2c4b-4f1e-9b7a-1c2d3e4f5a6b",
                    "claim_type": "water_damage",
                    "incident_date": "2026-11-20T08:30:00+01:00",
                    "description": "Fuga de agua en el baño que ha dañado el techo del vecino.",
                    "location": "Calle Mayor 12, Madrid",
                    "claimed_amount": "1850.00",
                }
            ]
        },
    )

    policy_id: uuid.UUID
    customer_id: uuid.UUID | None = Field(default=None, description="Optional; must be the policy holder.")
    claim_type: Str50
    incident_date: Instant
    description: LongText = Field(min_length=1)
    location: Str255 | None = None
    claimed_amount: Money | None = None
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("incident_date")
    @classmethod
    def _not_future(cls, value: datetime) -> datetime:
        if value > utcnow():
            raise ValueError("cannot be in the future")
        return value


class ClaimUpdate(BaseModel):
    """Editable while the claim is open (reported or investigating)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"claimed_amount": "2100.00"}]})

    claim_type: Omittable[Str50] = None
    description: Omittable[Annotated[LongText, Field(min_length=1)]] = None
    location: Str255 | None = None
    claimed_amount: Money | None = None
    metadata: Omittable[JsonObject] = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class TransitionNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText | None = None


class ApproveRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount": "1700.00", "note": "Peritado"}]}
    )

    amount: Money = Field(description="At most the policy's coverage (and the claimed amount, if any).")
    note: LongText | None = None


class DenyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Daño preexistente, excluido en póliza"}]}
    )

    reason: Str500


class PayRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"payment_reference": "TRF-2026-11-000123"}]}
    )

    amount: Money | None = Field(default=None, description="Default: the approved amount.")
    payment_reference: Str100 | None = None


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adjuster_id: uuid.UUID


class NoteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"body": "Llamado el perito."}]}
    )

    body: LongText = Field(min_length=1)
    internal: StrictBool = Field(default=True, description="Internal notes are hidden from the customer.")


class ClaimOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    claim_number: str
    customer_id: uuid.UUID
    policy_id: uuid.UUID
    claim_type: str
    incident_date: datetime
    reported_date: datetime
    description: str
    location: str | None
    claimed_amount: Money | None
    approved_amount: Money | None
    paid_amount: Money | None
    status: str
    denial_reason: str | None
    adjuster_id: uuid.UUID | None
    payment_reference: str | None
    metadata: dict[str, Any] = Field(validation_alias="attributes")
    version: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    paid_at: datetime | None


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str | None
    to_status: str | None
    actor_id: uuid.UUID | None
    note: str | None
    details: dict[str, Any]
    occurred_at: datetime


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    internal: bool
    created_at: datetime


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    claim_id: uuid.UUID
    name: str = Field(description="The file name as uploaded.")
    url: str | None = Field(
        description="External link of a document recorded before uploads existed; null for an uploaded file "
        "(download it from `GET /claims/{claim_id}/documents/{id}/content`)."
    )
    content_type: str | None = Field(description="Recognised from the content at upload.")
    document_type: str | None
    sha256: str | None = Field(description="Hex SHA-256 of the uploaded file.")
    size: int | None = Field(description="Bytes of the uploaded file.")
    uploaded_by: uuid.UUID | None
    uploaded_at: datetime
