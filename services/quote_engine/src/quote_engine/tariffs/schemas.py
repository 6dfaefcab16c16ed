"""Response bodies of tariff management."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]


class VersionOut(BaseModel):
    id: uuid.UUID
    product_code: str
    carrier: str
    line: str
    version: int
    status: str
    effective_from: date
    effective_to: date | None
    digest: str
    source: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None


class VersionDetail(VersionOut):
    definition: dict[str, Any]


class ProductOut(BaseModel):
    code: str
    carrier: str
    line: str
    name: str
    versions: list[VersionOut]


class RollbackOut(BaseModel):
    version: VersionOut
    retired_versions: list[int]


class TaxOut(BaseModel):
    code: str
    name: str
    kind: str
    rate: Money | None
    amounts: dict[str, Money]
    capital_field: str | None
    lines: list[str]
    exempt_lines: list[str]
    valid_from: date
    valid_to: date | None
    legal_reference: str
