"""Inbound intake: a customer's message as a provider reported it, stored once, matched to the
customer and a conversation, and acted on (consent keywords, renewal confirmations, assignment)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import (
    MessageReceived,
)
from omnichannel.agents import service as agents
from omnichannel.contacts import service as contacts
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core.events import OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.consent import (
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    set_consent,
)
from omnichannel.messaging.models import Attachment, Message
from omnichannel.messaging.renewals import CONFIRM_KEYWORDS, confirm_renewal
from omnichannel.messaging.store import InboundAttachment, log_interaction, preview, push_message, store
from omnichannel.sentiment.scorer import score as sentiment_of


@dataclass(frozen=True)
class Inbound:
    """A message a customer sent, as a provider reported it."""

    channel: str
    from_address: str  # canonical (E.164 or lower-case e-mail)
    to_address: str
    body: str
    provider: str
    provider_message_id: str | None
    subject: str | None = None
    html: str | None = None
    media: Sequence[dict[str, Any]] = ()
    email_message_id: str | None = None
    in_reply_to: str | None = None
    attachments: Sequence[InboundAttachment] = ()
    display_name: str | None = None


async def receive(session: AsyncSession, *, inbound: Inbound) -> Message | None:
    """Store a customer's message once (None if the provider's id was already stored), match the
    customer, reopen or create the conversation, honour STOP/START, act on CONFIRMAR, assign an
    agent, score its sentiment, publish ``message.received`` (with the sentiment and the assigned
    agent) and ``interaction.logged``, and push it live."""
    if inbound.provider_message_id and await repository.by_provider_id(
        session, inbound.provider, inbound.provider_message_id
    ):
        return None
    contact = (
        await contacts.match_email(session, address=inbound.from_address)
        if inbound.channel == "email"
        else await contacts.match_phone(session, address=inbound.from_address)
    )
    found = await conversations.find_or_create(
        session,
        channel=inbound.channel,
        address=inbound.from_address,
        customer_id=contact.customer_id if contact else None,
        customer_user_id=contact.user_id if contact else None,
        display_name=(contact.display_name if contact else None) or inbound.display_name,
        subject=inbound.subject,
    )
    conversation = found.conversation
    message = await store(
        session,
        conversation=conversation,
        values={
            "channel": inbound.channel,
            "direction": "inbound",
            "sender_type": "customer",
            "from_address": inbound.from_address,
            "to_address": inbound.to_address[:320],
            "subject": inbound.subject,
            "body": inbound.body,
            "html": inbound.html,
            "media": list(inbound.media),
            "provider": inbound.provider,
            "provider_message_id": inbound.provider_message_id,
            "email_message_id": inbound.email_message_id,
            "in_reply_to": inbound.in_reply_to,
            "status": "received",
        },
    )
    if message is None:  # a concurrent delivery of the same webhook stored it first
        return None
    if inbound.attachments:
        await repository.add_attachments(
            session,
            [
                Attachment(
                    message_id=message.id,
                    filename=a.filename[:255],
                    content_type=a.content_type[:100],
                    size=len(a.content),
                    content=a.content,
                )
                for a in inbound.attachments
            ],
        )
    await conversations.touch(
        session, conversation=conversation, preview=preview(message), at=message.created_at, inbound=True
    )
    await act_on_keywords(session, conversation=conversation, message=message)
    await agents.auto_assign(session, conversation=conversation)
    mood = sentiment_of(" ".join(filter(None, (inbound.subject, inbound.body))))
    await OUTBOX.publish(
        session,
        MessageReceived(
            message_id=message.id,
            conversation_id=conversation.id,
            channel=inbound.channel,
            customer_id=conversation.customer_id,
            from_address=inbound.from_address,
            preview=preview(message),
            received_at=message.created_at,
            agent_id=conversation.assignee_id,
            sentiment_score=mood.score,
            sentiment_label=mood.label,
        ),
        key=str(conversation.id),
    )
    await log_interaction(session, message=message, conversation=conversation, outcome="received")
    await conversations.publish(session, conversation=conversation)
    await push_message(session, conversation=conversation, message=message)
    return message


async def act_on_keywords(session: AsyncSession, *, conversation: Conversation, message: Message) -> None:
    if message.channel not in ("whatsapp", "sms"):
        return
    word = message.body.strip().strip(".!¡").upper()
    if word in OPT_OUT_KEYWORDS:
        await set_consent(
            session,
            channel=message.channel,
            address=message.from_address,
            opted_out=True,
            keyword=word,
            customer_id=conversation.customer_id,
        )
    elif word in OPT_IN_KEYWORDS:
        await set_consent(
            session,
            channel=message.channel,
            address=message.from_address,
            opted_out=False,
            keyword=word,
            customer_id=conversation.customer_id,
        )
    elif word in CONFIRM_KEYWORDS:
        await confirm_renewal(session, conversation=conversation, reply=message)
