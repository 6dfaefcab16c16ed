"""What the results API answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ResultKind = Literal["price", "policy_document", "portfolio_policy"]


class ResultOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0b5f8d2e-7a43-4c1e-9a55-3f1f0c2f9d11",
                    "job_id": "5a0c1c7e-3a0e-4f59-8f4e-0f4a4c1d2e3f",
                    "carrier": "mapfre",
                    "kind": "price",
                    "product": "Todo Riesgo con franquicia",
                    "premium": "412.50",
                    "currency": "EUR",
                    "data": {"coverage": "Franquicia 300 €"},
                    "observed_at": "2026-12-07T09:15:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    job_id: uuid.UUID
    carrier: str
    kind: ResultKind
    product: str | None
    premium: Decimal | None = Field(description="Annual premium with taxes, in `currency`.")
    currency: str
    data: dict[str, Any] = Field(description="Everything else read (fields, confidences, flags).")
    observed_at: datetime
