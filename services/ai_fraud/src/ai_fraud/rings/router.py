"""Rings: members and the identifiers that link them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from ai_fraud.core.access import Reviewer
from ai_fraud.rings import service
from aintech_shared.db import ReadSession
from aintech_shared.errors import responses

router = APIRouter(tags=["rings"])


class RingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_ids: list[str]
    claim_ids: list[str]
    links: list[dict[str, Any]]
    features: dict[str, Any]
    updated_at: datetime


@router.get(
    "/rings/{ring_id}",
    summary="A ring's members and shared links",
    response_model=RingOut,
    responses=responses((404, "Unknown ring")),
)
async def get_ring(ring_id: uuid.UUID, session: ReadSession, _: Reviewer) -> RingOut:
    return RingOut.model_validate(await service.get_ring(session, ring_id=ring_id))
