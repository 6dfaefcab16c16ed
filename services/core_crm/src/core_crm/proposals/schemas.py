"""Bodies of the policy-proposal endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core_crm.core.types import JsonObject, Str255
from core_crm.policies.models import PolicyType, PremiumFrequency

FIELD_EXAMPLE: dict[str, Any] = {
    "field": "premium_total",
    "old": "420.00",
    "new": "455.30",
    "confidence": 0.9,
    "flagged": False,
    "reason": None,
    "applicable": True,
}


class ProposalField(BaseModel):
    """A field of the document: the policy's value (``old``; null when creating), the document's
    (``new``), how sure the reader was, and whether it is flagged (not applied unless you supply it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [FIELD_EXAMPLE]})

    field: str
    old: Any
    new: Any
    confidence: float | None
    flagged: bool
    reason: str | None = Field(description="Why it is flagged, or why it is not applicable.")
    applicable: bool = Field(description="False for the holder's name and DNI/NIE (shown, never written).")


class ProposalOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "5b1d0c8e-8a55-4f5e-9d0a-6e2f3b7c9a10",
                    "kind": "reconcile",
                    "status": "pending",
                    "carrier": "mapfre",
                    "carrier_name": "Mapfre",
                    "policy_number": "MAP-2026-0042",
                    "policy_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63",
                    "customer_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
                    "fields": [FIELD_EXAMPLE],
                    "unreadable": ["coverages"],
                    "applied": [],
                    "version": 1,
                }
            ]
        },
    )

    id: uuid.UUID
    event_id: str
    job_id: uuid.UUID
    kind: str = Field(
        description="`reconcile` (the policy exists), `create`, or `missing` (the carrier's portfolio "
        "no longer lists this policy)."
    )
    source: str = Field(description="`document` (a policy PDF) or `portfolio` (a portfolio sync).")
    status: str = Field(description="`pending`, `accepted` or `rejected`.")
    carrier: str
    carrier_name: str
    policy_number: str
    policy_id: uuid.UUID | None = Field(description="The matched policy, or the one created on acceptance.")
    customer_id: uuid.UUID | None = Field(description="The holder (matched by DNI/NIE when creating).")
    fields: list[ProposalField]
    unreadable: list[str]
    document: dict[str, Any] = Field(description="Everything the reader found, with confidences.")
    applied: list[str] = Field(description="The fields written when it was accepted.")
    rejection_reason: str | None
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    parsed_at: datetime
    version: int
    created_at: datetime


class AcceptRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"values": {"end_date": "2027-03-01"}},
                {
                    "customer_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
                    "policy_type": "auto",
                    "details": {"make": "SEAT", "model": "León", "year": 2021},
                },
            ]
        },
    )

    values: dict[Str255, Any] = Field(
        default_factory=dict,
        max_length=20,
        description="Your value for a field: required for a flagged or unreadable field to be applied, "
        "and it replaces the document's value for any other.",
    )
    customer_id: uuid.UUID | None = Field(
        default=None, description="Create: the holder, when the DNI/NIE matched no customer."
    )
    policy_type: PolicyType | None = Field(
        default=None, description="Create: default `auto` when a plate was read, `home` otherwise."
    )
    premium_frequency: PremiumFrequency | None = None
    status: Literal["pending", "active"] | None = None
    details: JsonObject | None = Field(
        default=None, description="Create: the type's fields the document lacks (make, model, year...)."
    )

    def create_options(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "policy_type": self.policy_type.value if self.policy_type else None,
            "premium_frequency": self.premium_frequency.value if self.premium_frequency else None,
            "status": self.status,
            "details": self.details,
        }


class RejectRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "El documento es de otra póliza"}]}
    )

    reason: Str255
