"""What every message flow shares: storing a message in its conversation's sequence, reading
messages back, the live push to inbox sockets and chat rooms, and ``interaction.logged`` for the
CRM timeline (every message stored inbound or handed to a provider outbound publishes one)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import InteractionLogged
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core import live
from omnichannel.core.events import OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.models import Attachment, Message
from omnichannel.messaging.schemas import MessageOut


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Sealed:
    """The real text of a message whose stored text has its secret redacted (for the provider only)."""

    body: str
    html: str | None = None


PREVIEW = 200


def message_out(message: Message) -> dict[str, Any]:
    return MessageOut.model_validate(message).model_dump(mode="json")


def preview(message: Message) -> str:
    text = message.subject if message.channel == "email" and message.subject else message.body
    return " ".join((text or "").split())[:PREVIEW]


async def push_message(session: AsyncSession, *, conversation: Conversation, message: Message) -> None:
    """Push the stored message to agents' inbox sockets and, for chat, to the room (account mails are
    nobody's conversation: not pushed)."""
    if conversation.kind == "account":
        return
    payload = message_out(message)
    inbox_view = {**payload, "body": payload["body"][:500], "html": None}
    await live.notify(
        session,
        live.INBOX_TOPIC,
        {"type": "message.created", "conversation_id": str(conversation.id), "message": inbox_view},
    )
    if conversation.channel == "chat":
        await live.notify(
            session,
            live.chat_topic(conversation.id),
            {
                "type": message.kind if message.kind != "message" else "message",
                "seq": message.seq,
                "message": payload,
            },
        )


async def log_interaction(
    session: AsyncSession, *, message: Message, conversation: Conversation, outcome: str
) -> None:
    """``interaction.logged`` on the CRM's intake topic, so the customer timeline shows the message.
    Account mails are not interactions with a customer: they stay off every timeline."""
    if conversation.kind == "account":
        return
    customer_address = message.from_address if message.direction == "inbound" else message.to_address
    phone = customer_address if message.channel in ("whatsapp", "sms") else None
    email = customer_address if message.channel == "email" else None
    key = str(conversation.customer_id or customer_address or conversation.id)
    await OUTBOX.publish(
        session,
        InteractionLogged(
            source="omnichannel",
            external_id=str(message.id),
            type=message.channel,
            direction=message.direction,
            occurred_at=message.created_at,
            customer_id=conversation.customer_id,
            phone=phone,
            email=email,
            agent_id=message.sender_id if message.sender_type == "agent" else None,
            subject=(message.subject or message.template or None)
            and (message.subject or message.template or "")[:255],
            summary=(message.body or "")[:1000],
            outcome=outcome[:100],
        ),
        key=key,
    )


async def store(
    session: AsyncSession, *, conversation: Conversation, values: dict[str, Any]
) -> Message | None:
    seq = await conversations.next_seq(session, conversation=conversation)
    return await repository.insert_message(
        session, {"id": uuid.uuid4(), "conversation_id": conversation.id, "seq": seq, **values}
    )


async def by_provider_id(session: AsyncSession, *, provider: str, provider_message_id: str) -> Message | None:
    return await repository.by_provider_id(session, provider, provider_message_id)


async def get(session: AsyncSession, *, message_id: uuid.UUID, for_update: bool = False) -> Message | None:
    return await repository.get(session, message_id, for_update=for_update)


async def attachments_of(session: AsyncSession, *, message: Message) -> Sequence[Attachment]:
    return await repository.attachments_of(session, message.id)


async def attachments_by_message(
    session: AsyncSession, *, messages: Sequence[Message]
) -> dict[uuid.UUID, list[Attachment]]:
    """The attachments of several messages in one query."""
    out: dict[uuid.UUID, list[Attachment]] = {m.id: [] for m in messages}
    for item in await repository.attachments_by_message(
        session, [m.id for m in messages if m.channel == "email"]
    ):
        out[item.message_id].append(item)
    return out


async def sealed_of(session: AsyncSession, *, messages: Sequence[Message]) -> dict[uuid.UUID, Sealed]:
    """The real text of those messages that carry a redacted secret, for the dispatcher."""
    return {
        row.message_id: Sealed(body=row.body, html=row.html)
        for row in await repository.sealed_of(session, [m.id for m in messages])
    }


async def lock_many(session: AsyncSession, *, message_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Message]:
    """Lock several messages (in id order, so two dispatchers never deadlock)."""
    return {m.id: m for m in await repository.lock_many(session, message_ids)}


async def attachment(session: AsyncSession, *, attachment_id: uuid.UUID) -> Attachment | None:
    return await repository.attachment(session, attachment_id)


async def in_conversation(
    session: AsyncSession, *, conversation: Conversation, after: int, limit: int
) -> Sequence[Message]:
    return await repository.in_conversation(session, conversation.id, after=after, limit=limit)


async def history(
    session: AsyncSession, *, channel: str, customer_id: uuid.UUID, after: list[Any] | None, limit: int
) -> tuple[list[Message], list[Any] | None]:
    return await repository.history(
        session, channel=channel, customer_id=customer_id, after=after, limit=limit
    )
