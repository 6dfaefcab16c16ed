"""Claim photos: upload one for hashing, near-duplicate search and EXIF checks; list a claim's."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from ai_fraud.core.access import Reviewer
from ai_fraud.core.runtime import RuntimeDep
from ai_fraud.photos import service
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import AppError, UnprocessableEntity, responses

router = APIRouter(tags=["photos"])
MAX_BYTES = service.MAX_BYTES


class TooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class PhotoOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    claim_id: uuid.UUID
    sha256: str
    content_type: str
    width: int
    height: int
    exif: dict[str, Any]
    findings: list[dict[str, Any]]
    created_at: datetime


@router.post(
    "/claims/{claim_id}/photos",
    status_code=201,
    summary="Check a claim photo (raw JPEG or PNG body): near-duplicates among all claims, EXIF",
    description="The body is the image itself (`Content-Type: image/jpeg` or `image/png`; the type is "
    "checked by content). Its findings count in the claim's next score (`POST /analyze`).",
    response_model=PhotoOut,
    responses=responses(
        (404, "Unknown claim"), (413, "Larger than 15 MB"), (422, "Not a JPEG/PNG, or a bomb")
    ),
)
async def add_photo(
    claim_id: uuid.UUID, request: Request, session: DbSession, rt: RuntimeDep, _: Reviewer
) -> PhotoOut:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise TooLarge(f"Photos are limited to {MAX_BYTES // (1024 * 1024)} MB.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BYTES:
            raise TooLarge(f"Photos are limited to {MAX_BYTES // (1024 * 1024)} MB.")
    if not body:
        raise UnprocessableEntity("The request body must be the image.")
    photo = await service.add_photo(session, rt=rt, claim_id=claim_id, data=bytes(body))
    return PhotoOut.model_validate(photo)


@router.get("/claims/{claim_id}/photos", summary="A claim's checked photos", response_model=list[PhotoOut])
async def list_photos(claim_id: uuid.UUID, session: ReadSession, _: Reviewer) -> list[PhotoOut]:
    return [PhotoOut.model_validate(p) for p in await service.photos_of(session, claim_id=claim_id)]
