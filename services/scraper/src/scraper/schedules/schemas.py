"""Schedule bodies: the cron expression and time zone are checked (croniter, zoneinfo) at the edge."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from aintech_shared.jsontypes import JSON_INTEGER
from scraper.core.text import Slug
from scraper.scrape_jobs.schemas import JobKind, checked_params


def _cron(value: str) -> str:
    if "\x00" in value or len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError("not a 5-field cron expression (minute hour day month weekday)")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone (e.g. Europe/Madrid)") from None
    return value


Cron = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=9, max_length=120), AfterValidator(_cron)
]
Zone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=60, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$"),
    AfterValidator(_zone),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[^\x00]*$")
]

EXAMPLE: dict[str, Any] = {
    "name": "Precios Mapfre cada mañana",
    "cron": "0 7 * * 1-5",
    "kind": "prices",
    "carrier": "mapfre",
    "params": {"risk": {"plate": "1234BCD", "postal_code": "28001", "driver_birth_date": "1985-04-02"}},
}


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    name: Name
    cron: Cron = Field(description="Five fields: minute hour day-of-month month day-of-week.")
    timezone: Zone = "Europe/Madrid"
    kind: JobKind
    carrier: Slug
    params: dict[str, Any] = Field(default_factory=dict)
    max_attempts: Annotated[int, Field(ge=1, le=20), JSON_INTEGER] | None = None
    enabled: StrictBool = True  # true or false, not 0/1

    @model_validator(mode="after")
    def _params_fit_the_kind(self) -> ScheduleIn:
        self.params = checked_params(self.kind, self.params)
        return self


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    cron: str
    timezone: str
    kind: str
    carrier: str
    params: dict[str, Any]
    max_attempts: int | None
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_job_id: uuid.UUID | None
    created_at: datetime
