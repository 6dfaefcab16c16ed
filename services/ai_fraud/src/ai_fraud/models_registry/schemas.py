"""Model registry bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.jsontypes import JsonInt


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["synthetic", "cases"] = Field(
        default="synthetic",
        description="`synthetic`: the seeded generator (documented, planted patterns); `cases`: claims "
        "with an investigator's outcome (confirmed = fraud, dismissed = genuine).",
    )
    # JSON integers (7 or 7.0), not `false` or "7": what the document's "integer" says.
    rows: JsonInt = Field(default=20_000, ge=500, le=200_000, description="Synthetic claims to generate.")
    seed: JsonInt = Field(default=7, ge=0, le=2**31 - 1)


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    progress: int
    stage: str
    params: dict[str, Any]
    model_version: int | None
    report: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: str
    algorithm: str
    source: str
    rows: int
    data_digest: str
    feature_digest: str
    artifact_digest: str
    features: list[str]
    metrics: dict[str, Any]
    threshold: float
    trained_at: datetime
    promoted_at: datetime | None
    promoted_by: uuid.UUID | None
    previous_active: int | None
