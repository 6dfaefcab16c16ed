"""Bodies of the campaign endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aintech_shared.jsontypes import JSON_INTEGER
from omnichannel.core.text import Name, Segment


class CampaignIn(BaseModel):
    """A template to every customer of a CRM segment, over e-mail or WhatsApp, at most
    ``rate_per_minute`` messages a minute."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Renovación hogar 2027",
                    "channel": "email",
                    "template": "announcement",
                    "segment": "hogar-premium",
                    "variables": {
                        "title": "Nuevas coberturas de hogar",
                        "message": "Le contamos las novedades…",
                    },
                    "rate_per_minute": 60,
                }
            ]
        },
    )

    name: Name
    channel: Literal["email", "whatsapp"]
    template: str = Field(min_length=1, max_length=50)
    segment: Segment
    language: Literal["es", "en"] | None = Field(
        default=None, description="Default: each customer's language."
    )
    variables: dict[str, str] = Field(default_factory=dict, max_length=20)
    rate_per_minute: Annotated[int, Field(ge=1, le=6000), JSON_INTEGER] | None = None

    @field_validator("variables")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if len(key) > 50 or len(item) > 4000 or "\x00" in item or "\x00" in key:
                raise ValueError("variables: names up to 50 and values up to 4000 characters, no NUL bytes")
        return value


class Progress(BaseModel):
    total: int
    pending: int
    queued: int
    sent: int
    delivered: int
    failed: int
    skipped: int


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    channel: str
    template: str
    segment: str
    language: str | None
    variables: dict[str, str]
    status: Literal["draft", "running", "paused", "completed", "cancelled"]
    rate_per_minute: int
    created_by: uuid.UUID
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    progress: Progress


class RecipientOut(BaseModel):
    customer_id: uuid.UUID
    address: str
    status: str
    message_id: uuid.UUID | None
    message_status: str | None
    detail: str | None
