"""Shapes of the delivery endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class ParkedDeliveryOut(BaseModel):
    """A customer event that waited (or waits) for its customer to be known here."""

    model_config = ConfigDict(from_attributes=True)

    event_id: str
    event_type: str
    customer_id: uuid.UUID
    status: Literal["parked", "released", "failed", "expired"]
    parked_at: datetime
    resolved_at: datetime | None
    detail: str | None
