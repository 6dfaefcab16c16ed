"""Portal account bodies: credentials go in, never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Secret = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class AccountIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"base_url": "https://portal.mapfre.es", "username": "corredor01", "password": "••••••"}
            ]
        },
    )

    base_url: str = Field(
        min_length=8,
        max_length=500,
        pattern=r"^https?://[^\s\x00]+$",
        description="The portal's address; its host must be one of the adapter's hosts (or allowed by "
        "SCRAPER_ALLOWED_HOSTS).",
    )
    username: Secret
    password: Secret


class AccountOut(BaseModel):
    carrier: str
    base_url: str
    credentials_set: bool = Field(description="The credentials themselves are never returned.")
    updated_at: datetime | None
