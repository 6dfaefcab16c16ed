"""Playback of recordings kept by the platform: the call's agent and supervisors, range requests."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Header
from fastapi.responses import Response

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.objectstore import range_response
from telephony.core.deps import Agent
from telephony.core.runtime import RuntimeDep
from telephony.recordings import service

router = APIRouter(prefix="/calls", tags=["recordings"])


@router.get(
    "/{call_id}/recording",
    summary="Play a call's recording (the call's agent, supervisors)",
    description="Streamed from the platform's object store (never from the provider): the whole file "
    "(200) or one byte range (`Range: bytes=0-1023` → 206 with `Content-Range`; outside the file → 416). "
    "`ETag` is the recording's SHA-256.",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The recording"},
        206: {"content": {"audio/wav": {}}, "description": "One byte range of it"},
        **responses(
            (403, "Another agent's call"),
            (404, "No such call, or no recording kept"),
            (416, "The range lies outside the recording"),
        ),
    },
)
async def play(
    call_id: uuid.UUID,
    db: DbSession,
    rt: RuntimeDep,
    principal: Agent,
    range_: str | None = Header(default=None, alias="Range"),
) -> Response:
    found = await service.playable(db, principal=principal, call_id=call_id, store=rt.store)
    return range_response(rt.store, found, range_, filename=f"call-{call_id}.wav")
