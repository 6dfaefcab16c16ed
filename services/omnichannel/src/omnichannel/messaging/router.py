"""Sending WhatsApp, SMS and e-mail (by hand or by template), history, consent, console records."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from aintech_shared.db import DbSession
from aintech_shared.errors import NotFound, responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from omnichannel.conversations import service as conversations
from omnichannel.core.deps import Admin, Caller, Sender, user_uuid
from omnichannel.core.request import SettingsDep
from omnichannel.messaging import consent, sending
from omnichannel.messaging import store as message_store
from omnichannel.messaging.schemas import (
    ConsoleDeliveryOut,
    EmailSend,
    MessageOut,
    OptOutOut,
    TemplateSend,
    TextSend,
)
from omnichannel.providers import repository as console
from omnichannel.templating.service import TEMPLATES, render

router = APIRouter(tags=["messages"])

SEND_ERRORS = responses(
    (401, "Missing or invalid access token"),
    (403, "Missing permission messages:send"),
    (409, "The recipient opted out of this channel"),
    (413, "Body or attachments too large"),
    (422, "Invalid recipient, body or template"),
    (
        429,
        "Too many messages from you or to this recipient",
        "Too many messages to this recipient: at most 10 per hour.",
    ),
)
QUEUED = "Stored as `queued` and sent by the dispatcher; follow `status` (sent, delivered, read, failed)."


@router.post(
    "/whatsapp/send",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    summary="Send a WhatsApp message (text and media)",
    description=QUEUED + " Media are public https URLs (at most 10).",
    responses=SEND_ERRORS,
)
async def send_whatsapp(
    body: TextSend, principal: Sender, db: DbSession, settings: SettingsDep
) -> MessageOut:
    message = await sending.send_text(
        db,
        settings=settings,
        sender_id=user_uuid(principal),
        channel="whatsapp",
        to=body.to,
        body=body.body,
        media_urls=[str(u) for u in body.media_urls],
    )
    return MessageOut.model_validate(message)


@router.post(
    "/sms/send",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    summary="Send an SMS",
    description=QUEUED,
    responses=SEND_ERRORS,
)
async def send_sms(body: TextSend, principal: Sender, db: DbSession, settings: SettingsDep) -> MessageOut:
    message = await sending.send_text(
        db,
        settings=settings,
        sender_id=user_uuid(principal),
        channel="sms",
        to=body.to,
        body=body.body,
        media_urls=[str(u) for u in body.media_urls],
    )
    return MessageOut.model_validate(message)


@router.post(
    "/email/send",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    summary="Send an e-mail (plain and/or HTML, with attachments)",
    description=QUEUED + " Attachments are base64; together at most `OMNICHANNEL_MAX_ATTACHMENT_BYTES`.",
    responses=SEND_ERRORS,
)
async def send_email(body: EmailSend, principal: Sender, db: DbSession, settings: SettingsDep) -> MessageOut:
    message = await sending.send_email(
        db,
        settings=settings,
        sender_id=user_uuid(principal),
        to=str(body.to),
        subject=body.subject,
        text=body.text,
        html=body.html,
        attachments=body.attachments,
    )
    return MessageOut.model_validate(message)


@router.post(
    "/messages/template",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    summary="Send a template to a CRM customer",
    description=QUEUED + " Rendered in the customer's language (or `language`) on `channel` or their "
    "preferred channel. See `GET /templates` for names and variables.",
    responses={**SEND_ERRORS, **responses((404, "Unknown customer (not in omnichannel's copy of the CRM)"))},
)
async def send_template(
    body: TemplateSend, principal: Sender, db: DbSession, settings: SettingsDep
) -> MessageOut:
    message = await sending.send_template(
        db,
        settings=settings,
        sender_id=user_uuid(principal),
        customer_id=body.customer_id,
        template=body.template,
        channel=body.channel,
        language=body.language,
        variables=body.variables,
    )
    return MessageOut.model_validate(message)


@router.get(
    "/messages/{message_id}",
    response_model=MessageOut,
    summary="One message and its delivery state",
    description="Staff see any message; a customer only messages of their own conversations.",
    responses=responses((404, "No such message")),
)
async def get_message(message_id: uuid.UUID, principal: Caller, db: DbSession) -> MessageOut:
    message = await message_store.get(db, message_id=message_id)
    if message is None:
        raise NotFound("No such message.")
    await conversations.get_for(db, principal=principal, conversation_id=message.conversation_id)
    return MessageOut.model_validate(message)


@router.get(
    "/attachments/{attachment_id}",
    summary="Download an e-mail attachment",
    response_class=Response,
    responses=responses((404, "No such attachment")),
)
async def download_attachment(attachment_id: uuid.UUID, principal: Caller, db: DbSession) -> Response:
    item = await message_store.attachment(db, attachment_id=attachment_id)
    if item is None:
        raise NotFound("No such attachment.")
    message = await message_store.get(db, message_id=item.message_id)
    assert message is not None
    await conversations.get_for(db, principal=principal, conversation_id=message.conversation_id)
    safe_name = "".join(ch for ch in item.filename if ch.isalnum() or ch in "._- ")[:200] or "attachment"
    return Response(
        item.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _history_route(channel: Literal["whatsapp", "sms", "email"], path: str, summary: str) -> None:
    @router.get(
        path,
        response_model=CursorPage[MessageOut],
        summary=summary,
        responses=responses((403, "Staff only"), (422, "Invalid cursor")),
    )
    async def history(
        customer_id: uuid.UUID,
        principal: Sender,
        db: DbSession,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> CursorPage[MessageOut]:
        after = decode_cursor(cursor, kinds=("datetime", "int", "uuid"))
        rows, next_key = await message_store.history(
            db, channel=channel, customer_id=customer_id, after=after, limit=limit
        )
        return CursorPage.build(rows, next_key, item=MessageOut.model_validate)

    history.__name__ = f"{channel}_history"


_history_route("sms", "/sms/history/{customer_id}", "SMS history of a customer (newest first)")
_history_route("email", "/email/thread/{customer_id}", "E-mail thread of a customer (newest first)")
_history_route("whatsapp", "/whatsapp/history/{customer_id}", "WhatsApp history of a customer (newest first)")


@router.get(
    "/opt-outs",
    response_model=CursorPage[OptOutOut],
    summary="Recipients who opted out (STOP, BAJA, unsubscribe)",
    description="Most recent first; cursor pagination.",
    responses=responses((403, "Staff only"), (422, "Invalid cursor")),
)
async def list_opt_outs(
    principal: Sender, db: DbSession, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[OptOutOut]:
    after = decode_cursor(cursor, kinds=("datetime", "str", "str"))
    rows, next_key = await consent.opt_outs(db, after=after, limit=limit)
    return CursorPage.build(rows, next_key, item=OptOutOut.model_validate)


@router.get("/templates", summary="Templates and the variables each needs")
async def list_templates(principal: Sender) -> dict[str, Any]:
    return {
        "languages": ["es", "en"],
        "templates": [{"name": n, "variables": list(v)} for n, v in sorted(TEMPLATES.items())],
    }


@router.post(
    "/templates/{name}/preview",
    summary="Render a template (subject, text, HTML, short form) without sending it",
    responses=responses((422, "Unknown template or missing variable")),
)
async def preview_template(
    name: str,
    variables: dict[str, str],
    principal: Sender,
    language: Annotated[Literal["es", "en"], Query()] = "es",
) -> dict[str, str]:
    rendered = render(name[:50], language=language, variables=variables)
    return {
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "short": rendered.short,
    }


@router.get(
    "/providers/console/deliveries",
    response_model=CursorPage[ConsoleDeliveryOut],
    summary="What the console providers recorded (no Twilio/SendGrid credentials configured)",
    description="Newest first; cursor pagination. In console mode nothing leaves the machine: this is "
    "the outbox to read. Administrators only; secrets in account mails (reset and verification links, "
    "codes) are recorded redacted.",
    responses=responses((403, "Administrators only"), (422, "Invalid filter or cursor")),
)
async def console_deliveries(
    principal: Admin,
    db: DbSession,
    channel: Annotated[Literal["whatsapp", "sms", "email"] | None, Query()] = None,
    to: Annotated[str | None, Query(max_length=320, pattern=r"^[^\x00]*$")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ConsoleDeliveryOut]:
    after = decode_cursor(cursor, kinds=("int",))
    rows, next_key = await console.deliveries(db, channel=channel, to=to, after=after, limit=limit)
    return CursorPage.build(rows, next_key, item=ConsoleDeliveryOut.model_validate)
