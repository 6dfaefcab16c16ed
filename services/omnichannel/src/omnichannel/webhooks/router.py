"""Provider webhooks, reached through the gateway with the path unchanged. Every one is signed:
an unsigned or wrongly signed request is 403 and stores nothing, in console mode too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData, UploadFile

from aintech_shared.db import DbSession
from aintech_shared.errors import BadRequest, responses
from aintech_shared.webhooks import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    FormParams,
    PayloadTooLarge,
    check_sendgrid_events,
    check_sendgrid_raw,
    read_body,
    twilio_form,
)
from omnichannel.core.request import SettingsDep
from omnichannel.messaging.service import InboundAttachment
from omnichannel.settings import Settings
from omnichannel.webhooks import service

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SIGNED = responses(
    (400, "Malformed callback"),
    (403, "Missing or invalid provider signature", "Invalid Twilio signature."),
    (413, "Body larger than the webhook limit"),
)


async def _form(request: Request, settings: Settings) -> FormData:
    try:
        return await request.form(max_files=50, max_fields=1000, max_part_size=settings.max_webhook_bytes)
    except Exception as exc:  # malformed multipart or urlencoded body
        raise BadRequest("The webhook body is not a valid form.") from exc


TwilioForm = Annotated[FormParams, Depends(twilio_form(check_account=True))]


@router.post(
    "/twilio/messaging",
    summary="Twilio: inbound WhatsApp or SMS message",
    description="Signed with `X-Twilio-Signature` (HMAC of the public URL and the form). Stored once per "
    "`MessageSid`; STOP/BAJA opt out, START/ALTA opt back in, CONFIRMAR confirms the latest renewal "
    "reminder. Answers empty TwiML.",
    response_class=Response,
    responses={200: {"content": {"text/xml": {"example": EMPTY_TWIML}}}, **SIGNED},
)
async def twilio_inbound(form: TwilioForm, db: DbSession) -> Response:
    await service.twilio_inbound(db, form=form)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post(
    "/twilio/messaging/status",
    summary="Twilio: delivery status of a message we sent",
    description="queued → sent → delivered → read, or failed/undelivered with Twilio's error code. Applied "
    "once per SID and status; a late callback never moves a message backwards.",
    status_code=204,
    responses=SIGNED,
)
async def twilio_status(form: TwilioForm, db: DbSession) -> None:
    await service.twilio_status(db, form=form)


@router.post(
    "/sendgrid/events",
    summary="SendGrid: signed event webhook (delivery, opens, bounces, unsubscribes)",
    description="Verified with the ECDSA verification key over timestamp + body "
    "(`X-Twilio-Email-Event-Webhook-Signature` / `-Timestamp`, at most 10 minutes old). Each event "
    "applies once (`sg_event_id`); unsubscribes and spam reports opt the address out of campaigns.",
    responses=SIGNED,
)
async def sendgrid_events(request: Request, settings: SettingsDep, db: DbSession) -> dict[str, Any]:
    body = await read_body(request, settings.max_webhook_bytes)
    check_sendgrid_events(
        public_key=settings.sendgrid_webhook_public_key,
        payload=body,
        signature=request.headers.get(SENDGRID_SIGNATURE),
        timestamp=request.headers.get(SENDGRID_TIMESTAMP),
        max_age=settings.sendgrid_webhook_max_age_seconds,
    )
    return await service.sendgrid_events(db, payload=body)


@router.post(
    "/sendgrid/inbound",
    summary="SendGrid: inbound e-mail (Inbound Parse)",
    description="A customer's e-mail, signed like the event webhook. Threaded to the sender's e-mail "
    "conversation (matched to the CRM customer by address); attachments are kept. Stored once per "
    "Message-ID.",
    status_code=204,
    responses=SIGNED,
)
async def sendgrid_inbound(request: Request, settings: SettingsDep, db: DbSession) -> None:
    body = await read_body(request, settings.max_webhook_bytes)
    check_sendgrid_raw(
        public_key=settings.sendgrid_webhook_public_key,
        payload=body,
        signature=request.headers.get(SENDGRID_SIGNATURE),
        timestamp=request.headers.get(SENDGRID_TIMESTAMP),
        max_age=settings.sendgrid_webhook_max_age_seconds,
    )
    form = await _form(request, settings)
    files: list[InboundAttachment] = []
    total = 0
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            total += len(content)
            if total > settings.max_attachment_bytes:
                raise PayloadTooLarge(f"Attachments exceed {settings.max_attachment_bytes} bytes.")
            files.append(
                InboundAttachment(
                    filename=(value.filename or "attachment")[:255],
                    content_type=(value.content_type or "application/octet-stream")[:100],
                    content=content,
                )
            )
    await service.sendgrid_inbound(db, form=form, files=files, raw=body)
