"""What staff send by hand: limits (per user, per recipient), sizes, consent, then the queue."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import ConversationStatus
from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from aintech_shared.phones import to_e164
from aintech_shared.webhooks import PayloadTooLarge
from omnichannel.contacts import service as contacts
from omnichannel.conversations.models import Conversation
from omnichannel.core import ratelimit
from omnichannel.core.addresses import email_address
from omnichannel.messaging import chat as chat_messages
from omnichannel.messaging import outbound as outbound_queue
from omnichannel.messaging import store as message_store
from omnichannel.messaging import templated
from omnichannel.messaging.models import Message
from omnichannel.messaging.schemas import AttachmentIn
from omnichannel.settings import Settings
from omnichannel.whatsapp import service as whatsapp


async def check_limits(
    session: AsyncSession, *, settings: Settings, user_id: uuid.UUID, channel: str, address: str
) -> None:
    """429 beyond the per-user (per minute) or per-recipient (per hour) sending allowance."""
    await ratelimit.hit(
        session,
        key=f"send:user:{user_id}",
        limit=settings.send_limit_per_user_per_minute,
        window=timedelta(minutes=1),
        what="messages sent by you",
    )
    await ratelimit.hit(
        session,
        key=f"send:to:{channel}:{address}",
        limit=settings.send_limit_per_recipient_per_hour,
        window=timedelta(hours=1),
        what="messages to this recipient",
    )


def _phone(value: str) -> str:
    number = to_e164(value, bare_international=True)
    if number is None:
        raise UnprocessableEntity(
            "Not a valid phone number.",
            errors=[
                {
                    "location": "body",
                    "field": "to",
                    "message": "is not a valid phone number",
                    "type": "value_error",
                }
            ],
        )
    return number


async def send_text(
    session: AsyncSession,
    *,
    settings: Settings,
    sender_id: uuid.UUID,
    channel: str,
    to: str,
    body: str,
    media_urls: list[str],
) -> Message:
    """A WhatsApp or SMS message from an agent to a phone number."""
    if len(body) > settings.max_text_chars:
        raise PayloadTooLarge(f"The message exceeds {settings.max_text_chars} characters.")
    number = _phone(to)
    if channel == "whatsapp":
        await whatsapp.require_window(session, address=number)
    await check_limits(session, settings=settings, user_id=sender_id, channel=channel, address=number)
    contact = await contacts.match_phone(session, address=number)
    return await outbound_queue.queue(
        session,
        outbound=outbound_queue.Outbound(
            channel=channel,
            to_address=number,
            body=body,
            media=[{"url": u} for u in media_urls],
            sender_type="agent",
            sender_id=sender_id,
            customer_id=contact.customer_id if contact else None,
            customer_user_id=contact.user_id if contact else None,
            display_name=contact.display_name if contact else None,
        ),
    )


def decode_attachments(items: list[AttachmentIn], *, limit: int) -> list[message_store.InboundAttachment]:
    """Decoded attachments; 422 for bad base64, 413 when together they exceed ``limit`` bytes."""
    out: list[message_store.InboundAttachment] = []
    total = 0
    for index, item in enumerate(items):
        if len(item.content_base64) > limit * 4 // 3 + 8:
            raise PayloadTooLarge(f"Attachments exceed {limit} bytes.")
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UnprocessableEntity(
                "An attachment is not valid base64.",
                errors=[
                    {
                        "location": "body",
                        "field": f"attachments.{index}.content_base64",
                        "message": "is not valid base64",
                        "type": "value_error",
                    }
                ],
            ) from exc
        total += len(content)
        if total > limit:
            raise PayloadTooLarge(f"Attachments exceed {limit} bytes.")
        out.append(message_store.InboundAttachment(item.filename, item.content_type, content))
    return out


async def send_email(
    session: AsyncSession,
    *,
    settings: Settings,
    sender_id: uuid.UUID,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: list[AttachmentIn],
) -> Message:
    """A plain (and optionally HTML) e-mail with attachments from an agent."""
    if len(text.encode()) + len((html or "").encode()) > settings.max_email_bytes:
        raise PayloadTooLarge(f"The e-mail body exceeds {settings.max_email_bytes} bytes.")
    files = decode_attachments(attachments, limit=settings.max_attachment_bytes)
    address = email_address(to)
    await check_limits(session, settings=settings, user_id=sender_id, channel="email", address=address)
    contact = await contacts.match_email(session, address=address)
    return await outbound_queue.queue(
        session,
        outbound=outbound_queue.Outbound(
            channel="email",
            to_address=address,
            subject=subject,
            body=text,
            html=html,
            attachments=files,
            sender_type="agent",
            sender_id=sender_id,
            customer_id=contact.customer_id if contact else None,
            customer_user_id=contact.user_id if contact else None,
            display_name=contact.display_name if contact else None,
        ),
    )


async def send_template(
    session: AsyncSession,
    *,
    settings: Settings,
    sender_id: uuid.UUID,
    customer_id: uuid.UUID,
    template: str,
    channel: str | None,
    language: str | None,
    variables: dict[str, str],
) -> Message:
    """A template to a CRM customer on the given (or their preferred) channel."""
    contact = await contacts.get(session, customer_id=customer_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound("No such customer (the CRM has not announced it here yet).")
    recipient = contacts.recipient_of(contact)
    chosen = templated.choose_channel(recipient, channel)
    if chosen is None:
        raise UnprocessableEntity(f"The customer has no address for {channel or 'any channel'}.")
    address = recipient.email if chosen == "email" else recipient.mobile
    await check_limits(session, settings=settings, user_id=sender_id, channel=chosen, address=address or "")
    message = await templated.send_template(
        session,
        recipient=recipient,
        template=template,
        variables=variables,
        channel=chosen,
        language=language,
        purpose="conversation",
        sender_id=sender_id,
        strict=True,
    )
    assert message is not None
    return message


async def reply(
    session: AsyncSession,
    *,
    settings: Settings,
    sender_id: uuid.UUID,
    conversation: Conversation,
    body: str,
    subject: str | None,
    media_urls: list[str],
) -> Message:
    """An agent's answer on the conversation's own channel (chat replies use the chat endpoints)."""
    if conversation.kind == "account":
        raise Conflict("Account mails are not a conversation: write to the customer instead.")
    if conversation.channel == "chat":
        message, _ = await chat_messages.post_chat(
            session,
            conversation=conversation,
            sender_type="agent",
            sender_id=sender_id,
            body=body,
            client_id=None,
        )
        return message
    if conversation.channel == "whatsapp":
        await whatsapp.require_window(session, address=conversation.address)
    await check_limits(
        session,
        settings=settings,
        user_id=sender_id,
        channel=conversation.channel,
        address=conversation.address,
    )
    in_reply_to = None
    if conversation.channel == "email" and subject is None:
        subject = "Re: " + (conversation.subject or "AINTECH")[:490]
    if conversation.channel == "email":
        in_reply_to = await _last_inbound_email_id(session, conversation)
    if conversation.status in (ConversationStatus.resolved, ConversationStatus.snoozed):
        conversation.status = ConversationStatus.pending
    return await outbound_queue.queue(
        session,
        conversation=conversation,
        outbound=outbound_queue.Outbound(
            channel=conversation.channel,
            to_address=conversation.address,
            subject=subject if conversation.channel == "email" else None,
            body=body,
            media=[{"url": u} for u in media_urls] if conversation.channel != "email" else [],
            sender_type="agent",
            sender_id=sender_id,
            customer_id=conversation.customer_id,
            in_reply_to=in_reply_to,
        ),
    )


async def _last_inbound_email_id(session: AsyncSession, conversation: Conversation) -> str | None:
    recent = await message_store.in_conversation(
        session, conversation=conversation, after=max(0, conversation.last_seq - 50), limit=50
    )
    ids = [m.email_message_id for m in recent if m.direction == "inbound" and m.email_message_id]
    return ids[-1] if ids else None
