"""What the jobs API accepts and answers. A job's ``params`` are checked against its kind."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from aintech_shared.jsontypes import JSON_INTEGER, JsonInt
from scraper.core.text import Slug

JobKind = Literal["prices", "policy_document", "portfolio_sync"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _short(n: int, pattern: str | None = None) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=n, pattern=pattern),
        AfterValidator(_no_nul),
    ]


class Risk(BaseModel):
    """The risk a carrier prices (a car and its driver)."""

    model_config = ConfigDict(extra="forbid")

    product_type: Literal["auto"] = "auto"
    plate: _short(10, r"^[0-9]{4}[A-Z]{3}$") = Field(description="Spanish plate, e.g. 1234BCD.")  # type: ignore[valid-type]
    postal_code: _short(5, r"^(0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}$")  # type: ignore[valid-type]
    driver_birth_date: date


class PricesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk: Risk
    quote_id: uuid.UUID | None = Field(
        default=None, description="The quote-engine quote these prices are compared in, if any."
    )


class DocumentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_number: _short(40, r"^[A-Za-z0-9\-/]+$")  # type: ignore[valid-type]


class PortfolioParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


PARAMS: dict[str, TypeAdapter[Any]] = {
    "prices": TypeAdapter(PricesParams),
    "policy_document": TypeAdapter(DocumentParams),
    "portfolio_sync": TypeAdapter(PortfolioParams),
}


def checked_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` validated for ``kind`` and normalised (JSON-ready); ValueError naming the problem."""
    try:
        model = PARAMS[kind].validate_python(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'params'}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"invalid params for a {kind} job: {problems}") from None
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return dumped


EXAMPLE: dict[str, Any] = {
    "kind": "prices",
    "carrier": "mapfre",
    "params": {"risk": {"plate": "1234BCD", "postal_code": "28001", "driver_birth_date": "1985-04-02"}},
}


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    kind: JobKind
    carrier: Slug = Field(description="A carrier with an adapter (GET /carriers).")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="prices: `risk` (plate, postal_code, driver_birth_date) and optional `quote_id`; "
        "policy_document: `policy_number`; portfolio_sync: none.",
    )
    max_attempts: Annotated[int, Field(ge=1, le=20), JSON_INTEGER] | None = Field(
        default=None, description="Default: SCRAPER_DEFAULT_MAX_ATTEMPTS."
    )
    priority: JsonInt = Field(
        default=0, ge=-100, le=100, description="Higher runs first within a carrier (a number, not false)."
    )

    @model_validator(mode="after")
    def _params_fit_the_kind(self) -> JobIn:
        self.params = checked_params(self.kind, self.params)
        return self


class ArtifactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    attempt: int
    kind: str
    content_type: str
    url: str | None
    size: int
    sha256: str | None = Field(description="SHA-256 (hex) of the stored file.")
    created_at: datetime
    expires_at: datetime


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    carrier: str
    params: dict[str, Any]
    status: JobStatus
    priority: int
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None = Field(description="When a queued job may start (its retry time).")
    progress: int = Field(description="0-100.")
    progress_note: str | None
    error_class: str | None = Field(
        description="login_refused, layout_changed, blocked, rate_limited, timeout, site_down, "
        "invalid_document, unsafe_target, worker_lost or internal."
    )
    error_detail: str | None
    adapter_version: str | None
    schedule_id: uuid.UUID | None
    requested_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobDetail(JobOut):
    artifacts: list[ArtifactOut] = Field(default_factory=list, description="Failure screenshots and HTML.")


class CarrierOut(BaseModel):
    carrier: str
    name: str
    adapter_version: str
    engine: str
    kinds: list[str]
    hosts: list[str]
    max_concurrent: int
    min_interval_ms: int


class CarrierLimitsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"max_concurrent": 2, "min_interval_ms": 1500}]}
    )

    max_concurrent: JsonInt = Field(
        ge=1, le=100, description="Running jobs on this carrier across every worker."
    )
    min_interval_ms: JsonInt = Field(
        ge=0, le=3_600_000, description="Pause between two job starts on this carrier."
    )
