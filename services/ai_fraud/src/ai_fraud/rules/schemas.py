"""Rule bodies: the condition is parsed by the safe evaluator's parser inside pydantic validation,
so an invalid condition is a 422 naming the reason and is never stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from ai_fraud.rules.conditions import ConditionError, parse
from aintech_shared.jsontypes import JSON_INTEGER, JsonInt

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,59}$")]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$", strip_whitespace=True)
]
EXAMPLE: dict[str, Any] = {"feature": "days_since_policy_start", "op": "lte", "value": 7}


def _valid_condition(value: dict[str, Any]) -> dict[str, Any]:
    try:
        parse(value)
    except ConditionError as exc:
        raise ValueError(str(exc)) from None
    return value


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="Stable identifier (lowercase, digits, underscores).")
    name_es: Name
    name_en: Name
    condition: dict[str, Any] = Field(json_schema_extra={"example": EXAMPLE})
    weight: JsonInt = Field(
        ge=1, le=100, description="Points the rule adds when it fires (combined, capped at 100)."
    )
    enabled: StrictBool = True

    _check = field_validator("condition")(_valid_condition)


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_es: Name | None = None
    name_en: Name | None = None
    condition: dict[str, Any] | None = None
    weight: Annotated[int, Field(ge=1, le=100), JSON_INTEGER] | None = None
    expected_version: Annotated[int, Field(ge=1), JSON_INTEGER] | None = Field(
        default=None, description="Refuse (409) unless the rule is at this version."
    )

    @field_validator("condition")
    @classmethod
    def _check(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _valid_condition(value)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name_es: str
    name_en: str
    condition: dict[str, Any]
    weight: int
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None


class RuleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    change: str
    snapshot: dict[str, Any]
    changed_by: uuid.UUID | None
    changed_at: datetime


class FeatureOut(BaseModel):
    name: str
    type: str
    es: str
    en: str
    in_model: bool
