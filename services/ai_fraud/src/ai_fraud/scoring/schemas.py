"""Score bodies: a saved claim's id, or an unsaved claim typed in."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, model_validator

from aintech_shared.instants import ZonedInstant


class DraftClaim(BaseModel):
    """A claim not saved in the CRM (what an agent is about to register)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID | None = None
    policy_id: uuid.UUID | None = None
    claim_type: str = Field(min_length=1, max_length=50, pattern=r"^[^\x00]*$")
    incident_date: ZonedInstant
    claimed_amount: Decimal | None = Field(default=None, ge=0, le=Decimal("9999999999.99"), decimal_places=2)
    attributes: dict[str, str | StrictInt | StrictFloat | StrictBool | list[str] | None] = Field(
        default_factory=dict, max_length=30
    )

    @model_validator(mode="after")
    def _aware(self) -> DraftClaim:
        if self.incident_date.tzinfo is None:
            raise ValueError("incident_date needs a time zone (e.g. 2026-05-01T23:30:00+02:00)")
        return self


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_id: uuid.UUID | None = Field(default=None, description="A saved claim: scored and stored.")
    claim: DraftClaim | None = Field(default=None, description="An unsaved claim: scored, nothing stored.")
    language: Literal["es", "en"] | None = None

    @model_validator(mode="after")
    def _one(self) -> AnalyzeRequest:
        if (self.claim_id is None) == (self.claim is None):
            raise ValueError("give exactly one of claim_id or claim")
        return self


class PartOut(BaseModel):
    kind: str
    code: str
    points: float
    reason: str
    reason_es: str
    reason_en: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class ScoreOut(BaseModel):
    claim_id: uuid.UUID | None
    score: int
    band: Literal["low", "review", "high"]
    summary: str
    parts: list[PartOut]
    features: dict[str, Any]
    model_version: int | None
    ring_id: uuid.UUID | None
    scored_at: datetime
    stored: bool
