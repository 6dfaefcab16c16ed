"""Request and response bodies of the outbound-webhook endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from core_crm.core.types import Instant, Omittable, Str100, Str500, Url

EventTypes = list[Str100]

SUBSCRIPTION_EXAMPLE: dict[str, Any] = {
    "url": "https://hooks.zapier.com/hooks/catch/123456/abcdef/",
    "event_types": ["customer.created", "policy.renewed"],
    "description": "Zapier: new customers and renewals to the sales sheet",
}


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SUBSCRIPTION_EXAMPLE]})

    url: Url = Field(description="http(s) URL; private, loopback and link-local targets are refused.")
    event_types: EventTypes = Field(min_length=1, max_length=50, description="CRM business event types.")
    description: Str500 | None = None


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"active": True}, {"event_types": ["claim.created", "claim.paid"]}]},
    )

    url: Omittable[Url] = None
    event_types: Omittable[EventTypes] = Field(default=None, min_length=1, max_length=50)
    description: Str500 | None = None
    active: Omittable[bool] = None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    **SUBSCRIPTION_EXAMPLE,
                    "active": True,
                    "disabled_at": None,
                    "disabled_reason": None,
                    "created_by": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "created_at": "2026-12-07T10:00:00Z",
                    "updated_at": "2026-12-07T10:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="Why it was switched off (e.g. a day of failed deliveries)."
    )
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(
        description="The signing secret (`whsec_…`), shown once: verify `webhook-signature` with it "
        "(Standard Webhooks)."
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                    "subscription_id": "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "message_id": "msg_2b7f0c1e9d8a4b3c",
                    "event_id": "1c6a2f0e-8d9b-4e7a-b5c3-2d1e0f9a8b7c",
                    "event_type": "customer.created",
                    "status": "succeeded",
                    "attempt_count": 4,
                    "last_status_code": 200,
                    "last_error": None,
                    "attempts": [
                        {"at": "2026-12-07T10:00:01Z", "status_code": 503, "error": "HTTP 503 from hooks…"},
                        {"at": "2026-12-07T10:00:09Z", "status_code": 200, "error": None},
                    ],
                    "next_attempt_at": None,
                    "replay_of": None,
                    "created_at": "2026-12-07T10:00:00Z",
                    "delivered_at": "2026-12-07T10:00:09Z",
                }
            ]
        },
    )

    id: uuid.UUID
    subscription_id: uuid.UUID
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt and replay.")
    event_id: str
    event_type: str
    status: Literal["pending", "retrying", "succeeded", "failed"]
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    attempts: list[dict[str, Any]] = Field(description="Every attempt (latest 50): when, status code, error.")
    next_attempt_at: datetime | None
    replay_of: uuid.UUID | None
    created_at: datetime
    delivered_at: datetime | None


class ReplayRange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"since": "2026-12-06T00:00:00Z", "until": "2026-12-07T00:00:00Z", "only_failed": True}
            ]
        },
    )

    since: Instant
    until: Instant
    only_failed: StrictBool = False


class ReplayOut(BaseModel):
    replayed: int
