"""Proxy bodies: credentials go in, never come out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from aintech_shared.jsontypes import JsonInt
from scraper.core.hosts import valid_host

Secret = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00:]*$")]
Host = Annotated[str, StringConstraints(min_length=1, max_length=253), AfterValidator(valid_host)]


class ProxyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "label": "Madrid 1",
                    "scheme": "http",
                    "host": "proxy1.example.net",
                    "port": 3128,
                    "username": "aintech",
                    "password": "••••••",
                }
            ]
        },
    )

    label: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00]*$")
    ]
    scheme: Literal["http", "https"] = "http"
    host: Host = Field(description="Host name or IPv4 address of the proxy (no port).")
    port: JsonInt = Field(ge=1, le=65535)
    username: Secret | None = None
    password: Secret | None = None


class ProxyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    label: str
    scheme: str
    host: str
    port: int
    credentials_set: bool = Field(default=False, description="The credentials themselves are never returned.")
    enabled: bool
    healthy: bool
    cooldown_until: datetime | None = Field(
        description="Not used before this instant (after a ban or CAPTCHA)."
    )
    last_used_at: datetime | None
    last_checked_at: datetime | None
    bans: int
    last_error: str | None
    created_at: datetime
