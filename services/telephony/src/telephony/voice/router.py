"""Twilio voice webhooks (/webhooks/twilio/voice/...): signed, idempotent, answered from local data."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.webhooks import FormParams, twilio_form
from telephony.core.runtime import RuntimeDep
from telephony.providers.twiml import TWIML_MEDIA_TYPE
from telephony.voice import service

MAX_WEBHOOK_BYTES = 64 * 1024

# The webhook's form fields, once X-Twilio-Signature is shown valid for the URL Twilio called.
TwilioForm = Annotated[FormParams, Depends(twilio_form(max_bytes=MAX_WEBHOOK_BYTES))]
CallIdParam = Annotated[uuid.UUID, Query(description="Our call id, put in the URL handed to Twilio.")]

router = APIRouter(prefix="/webhooks/twilio/voice", tags=["twilio webhooks"])

SIGNED = responses(
    (403, "Invalid or missing X-Twilio-Signature", "Invalid Twilio signature."),
    (413, "Body larger than 64 KiB"),
)
TWIML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "TwiML", "content": {TWIML_MEDIA_TYPE: {"example": "<Response/>"}}}
}


def _twiml(document: str) -> Response:
    return Response(content=document, media_type=TWIML_MEDIA_TYPE)


def _done() -> Response:
    return Response(status_code=204)


@router.post(
    "/incoming",
    summary="A customer calls: greeting and IVR menu, or voicemail outside office hours",
    description="Voice URL of the phone number. Identifies the caller from the local read model of "
    "CRM customers, records the call and publishes `call.initiated`.",
    responses={**TWIML_RESPONSE, **SIGNED},
)
async def incoming(params: TwilioForm, db: DbSession, rt: RuntimeDep) -> Response:
    return _twiml(await service.incoming(db, rt=rt, params=params))


@router.post(
    "/ivr",
    summary="The caller's menu choice: queue with priority, connect when an agent is free",
    description="1 claims, 2 sales, 3 renewals, anything else (or no key) other. An open claim or "
    "a VIP segment raises the priority; the caller's last agent is preferred.",
    responses={**TWIML_RESPONSE, **SIGNED},
)
async def ivr(params: TwilioForm, call_id: CallIdParam, db: DbSession, rt: RuntimeDep) -> Response:
    return _twiml(await service.ivr(db, rt=rt, call_id=call_id, digits=params.get("Digits", "")))


@router.post(
    "/wait",
    summary="Hold music and the caller's position while they wait for an agent",
    responses={**TWIML_RESPONSE, **SIGNED},
)
async def wait(params: TwilioForm, call_id: CallIdParam, db: DbSession, rt: RuntimeDep) -> Response:
    return _twiml(await service.wait(db, rt=rt, call_id=call_id))


@router.post(
    "/client",
    summary="An agent's softphone joins a call (TwiML App voice URL)",
    description="`From` is `client:<agent id>` (the access token's identity) and `callId` the call; "
    "only the call's agent (or the target of a warm transfer) is let in.",
    responses={**TWIML_RESPONSE, **SIGNED},
)
async def client(params: TwilioForm, db: DbSession, rt: RuntimeDep) -> Response:
    return _twiml(await service.softphone(db, rt=rt, params=params))


@router.post(
    "/status",
    status_code=204,
    summary="Call status callback (the customer's leg, or an agent's softphone leg)",
    description="Idempotent per CallSid + status; a status older than the call's never moves it back. "
    "A final status of the customer's leg ends the call: `call.ended`, `interaction.logged`, and "
    "`queue.call_abandoned` when the caller was still waiting. Also the TwiML App's status callback: "
    "a final status of the agent's softphone leg (hung up in the browser) hangs up the customer and "
    "ends the call the same way.",
    responses=SIGNED,
)
async def status(
    params: TwilioForm, db: DbSession, rt: RuntimeDep, call_id: Annotated[uuid.UUID | None, Query()] = None
) -> Response:
    await service.status(db, rt=rt, params=params, call_id=call_id)
    return _done()


@router.post(
    "/recording",
    status_code=204,
    summary="Recording status callback (URL stored, `call.recording_available` published)",
    responses=SIGNED,
)
async def recording(params: TwilioForm, call_id: CallIdParam, db: DbSession, rt: RuntimeDep) -> Response:
    await service.recording(db, rt=rt, params=params, call_id=call_id)
    return _done()


@router.post(
    "/transcription",
    status_code=204,
    summary="Transcription callback (voicemail or a recorded call)",
    description="Stores the transcript on the call; for a call already logged to the CRM, publishes "
    "`interaction.transcribed` so the CRM attaches it to the call's interaction.",
    responses=SIGNED,
)
async def transcription(params: TwilioForm, call_id: CallIdParam, db: DbSession, rt: RuntimeDep) -> Response:
    await service.transcription(db, params=params, call_id=call_id, rt=rt)
    return _done()


@router.post(
    "/conference",
    status_code=204,
    summary="Conference events: participants joining and leaving the call's conference",
    description="Learns the conference and the agent's leg (for hold and mute). The assigned agent's "
    "softphone joining an inbound call connects it (`call.answered`); the agent's softphone leaving "
    "(hung up in the browser) hangs up the customer and ends the call, or hands it to the target of a "
    "pending warm transfer who has joined.",
    responses=SIGNED,
)
async def conference(params: TwilioForm, call_id: CallIdParam, db: DbSession, rt: RuntimeDep) -> Response:
    await service.conference(db, rt=rt, params=params, call_id=call_id)
    return _done()


@router.post(
    "/dial-action",
    summary="Dial action: the customer's conference or a transfer to a number finished",
    responses={**TWIML_RESPONSE, **SIGNED},
)
async def dial_action(params: TwilioForm, call_id: CallIdParam, db: DbSession) -> Response:
    return _twiml(await service.dial_action(db, params=params, call_id=call_id))


@router.post(
    "/consent",
    summary="A customer we dialled answered the recording notice: 8 refuses, any other key accepts",
    description="Stores the choice on the call (and so on its CRM interaction), then joins the customer "
    "to the call's conference. A refused call is never recorded.",
    responses={**TWIML_RESPONSE, **SIGNED},
)
async def consent(params: TwilioForm, call_id: CallIdParam, db: DbSession, rt: RuntimeDep) -> Response:
    return _twiml(await service.consent(db, rt=rt, params=params, call_id=call_id))


@router.post("/voicemail", summary="After a voicemail was left", responses={**TWIML_RESPONSE, **SIGNED})
async def voicemail(params: TwilioForm, call_id: CallIdParam) -> Response:
    return _twiml(service.voicemail_done())
