"""Bodies of the notification centre endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

Kind = Literal[
    "policy_expiring",
    "claim_status_changed",
    "task_assigned",
    "quote_accepted",
    "fraud_alert",
    "negative_message",
]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    # Strict: 0, 1 or "yes" are not booleans in the document, so they are refused here too.
    in_app: StrictBool = True
    email: StrictBool = False
    sms: StrictBool = False
    whatsapp: StrictBool = False


class PreferencesIn(BaseModel):
    """Where each kind of notification goes; kinds not listed keep their setting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"preferences": [{"kind": "claim_status_changed", "in_app": True, "email": True}]}]
        },
    )

    preferences: list[PreferenceIn] = Field(min_length=1, max_length=20)


class PreferenceOut(BaseModel):
    kind: str
    in_app: bool
    email: bool
    sms: bool
    whatsapp: bool


StaffRole = Literal["admin", "supervisor", "agent"]


class StaffMessageIn(BaseModel):
    """A message by hand to exactly one of: a user (``user_id``), everyone with a ``role``, or every
    member of staff (``everyone``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "role": "agent",
                    "title": "Cierre a las 18:00",
                    "text": "Hoy la oficina cierra a las 18:00.",
                },
                {
                    "user_id": "0b6f7c1e-2a4d-4c59-9a57-2f8f3c1d9e10",
                    "text": "Llama al cliente de la póliza P-1042.",
                },
                {"everyone": True, "text": "Mantenimiento de la centralita esta noche de 22:00 a 23:00."},
            ]
        },
    )

    user_id: uuid.UUID | None = Field(default=None, description="One user (an account the platform knows).")
    role: StaffRole | None = Field(default=None, description="Everyone with this staff role.")
    everyone: StrictBool = Field(
        default=False, description="Every member of staff (admins, supervisors, agents)."
    )
    title: str | None = Field(
        default=None, max_length=200, description="Shown in bold; by default «Mensaje del equipo»."
    )
    text: str = Field(min_length=1, max_length=1000, description="The message (not blank).")

    @field_validator("text", "title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _one_audience(self) -> StaffMessageIn:
        chosen = [self.user_id is not None, self.role is not None, self.everyone]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of user_id, role or everyone=true")
        return self


class StaffMessageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "5d1c8f0e-8b7a-4f3e-9a51-0c2d4e6f8a10", "recipients": 12}]}
    )

    id: uuid.UUID = Field(
        description="The message; each recipient's notification carries it as data.message_id."
    )
    recipients: int = Field(description="How many users it was stored for (and pushed to).")
