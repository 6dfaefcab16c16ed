"""Bodies and representations of the WhatsApp template registry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["es", "en"]
ApprovalStatus = Literal["pending", "approved", "rejected", "paused", "disabled"]


class TemplateIn(BaseModel):
    """The approved content template for a purpose and language, and which platform variables fill
    its placeholders ``{{1}}``, ``{{2}}``, ... in order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "content_sid": "HX" + "0123456789abcdef" * 2,
                    "variables": ["first_name", "policy_number", "coverage_end_date"],
                    "status": "approved",
                }
            ]
        },
    )

    content_sid: str = Field(min_length=34, max_length=34, pattern=r"^HX[0-9a-f]{32}$")
    variables: list[str] = Field(default_factory=list, max_length=10)
    status: ApprovalStatus = "approved"


class TemplateOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "8d5f3c1e-2b7a-4c1d-9f0e-3a6b5c4d2e1f",
                    "purpose": "policy_renewal_reminder",
                    "language": "es",
                    "content_sid": "HX" + "0123456789abcdef" * 2,
                    "variables": ["first_name", "policy_number", "coverage_end_date"],
                    "status": "rejected",
                    "rejection_reason": "Template formatting: variables at the start of the text",
                    "created_at": "2026-12-07T09:00:00Z",
                    "updated_at": "2026-12-07T10:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    purpose: str
    language: str
    content_sid: str
    variables: list[str]
    status: str
    rejection_reason: str | None
    created_at: datetime
    updated_at: datetime


class TemplateList(BaseModel):
    items: list[TemplateOut]
    purposes: dict[str, list[str]] = Field(description="Each purpose and the variables it offers.")
