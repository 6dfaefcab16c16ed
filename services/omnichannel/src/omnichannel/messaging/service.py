"""Message rules for every channel: store inbound, queue outbound, apply delivery status, consent.

Outbound messages are stored ``queued`` in the caller's transaction and sent by the worker's
dispatcher after commit (``omnichannel.delivery``), so a provider outage never loses a message
and a retried request never sends twice. Every message that is stored (inbound) or handed to a
provider (outbound) publishes ``interaction.logged`` for the CRM timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import InteractionLogged
from aintech_contracts.events.omnichannel import (
    ContactOptedIn,
    ContactOptedOut,
    MessageReceived,
    MessageSent,
    RenewalConfirmed,
)
from aintech_shared.errors import Conflict
from omnichannel.agents import service as agents
from omnichannel.contacts import service as contacts
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core import live
from omnichannel.core.base import utcnow
from omnichannel.core.events import DISPATCH_CHANNEL, OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.models import FINAL_FAILURES, STATUS_RANK, Attachment, Message, OptOut
from omnichannel.messaging.schemas import MessageOut

OPT_OUT_KEYWORDS = frozenset({"STOP", "BAJA", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "CANCELAR"})
OPT_IN_KEYWORDS = frozenset({"START", "ALTA", "UNSTOP", "YES"})
CONFIRM_KEYWORDS = frozenset({"CONFIRMAR", "CONFIRMO", "CONFIRM"})
PREVIEW = 200
# A CONFIRMAR reply counts for a reminder sent within this window.
RENEWAL_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes


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


@dataclass(frozen=True)
class Sealed:
    """The real text of a message whose stored text has its secret redacted (for the provider only)."""

    body: str
    html: str | None = None


@dataclass(frozen=True)
class Outbound:
    """A message to send; ``purpose`` decides how consent applies."""

    channel: str
    to_address: str
    body: str
    from_address: str = ""
    subject: str | None = None
    html: str | None = None
    media: Sequence[dict[str, Any]] = ()
    attachments: Sequence[InboundAttachment] = ()
    template: str | None = None
    language: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    sender_type: str = "system"
    sender_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    customer_user_id: uuid.UUID | None = None
    display_name: str | None = None
    campaign_id: uuid.UUID | None = None
    # conversation: an agent wrote it; transactional: account and policy mail; marketing: campaigns
    purpose: str = "conversation"
    in_reply_to: str | None = None
    # The real text when ``body``/``html`` hold a redacted copy (a reset link, a code).
    sealed: Sealed | None = None
    # An account mail (verification, reset, alert, code): kept in the address's account thread.
    account: bool = False


class OptedOut(Conflict):
    """The recipient opted out of this channel."""


def message_out(message: Message) -> dict[str, Any]:
    return MessageOut.model_validate(message).model_dump(mode="json")


def _preview(message: Message) -> str:
    text = message.subject if message.channel == "email" and message.subject else message.body
    return " ".join((text or "").split())[:PREVIEW]


async def _live_message(session: AsyncSession, *, conversation: Conversation, message: Message) -> None:
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


async def _interaction(
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


async def _store(
    session: AsyncSession, *, conversation: Conversation, values: dict[str, Any]
) -> Message | None:
    seq = await conversations.next_seq(session, conversation=conversation)
    return await repository.insert_message(
        session, {"id": uuid.uuid4(), "conversation_id": conversation.id, "seq": seq, **values}
    )


# --- inbound -------------------------------------------------------------------------------------


async def receive(session: AsyncSession, *, inbound: Inbound) -> Message | None:
    """Store a customer's message once (None if the provider's id was already stored), match the
    customer, reopen or create the conversation, honour STOP/START, act on CONFIRMAR, assign an
    agent, publish ``message.received`` and ``interaction.logged``, and push it live."""
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
    message = await _store(
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
        session, conversation=conversation, preview=_preview(message), at=message.created_at, inbound=True
    )
    await _keywords(session, conversation=conversation, message=message)
    await agents.auto_assign(session, conversation=conversation)
    await OUTBOX.publish(
        session,
        MessageReceived(
            message_id=message.id,
            conversation_id=conversation.id,
            channel=inbound.channel,
            customer_id=conversation.customer_id,
            from_address=inbound.from_address,
            preview=_preview(message),
            received_at=message.created_at,
        ),
        key=str(conversation.id),
    )
    await _interaction(session, message=message, conversation=conversation, outcome="received")
    await conversations.publish(session, conversation=conversation)
    await _live_message(session, conversation=conversation, message=message)
    return message


async def _keywords(session: AsyncSession, *, conversation: Conversation, message: Message) -> None:
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
        await _confirm_renewal(session, conversation=conversation, reply=message)


async def _confirm_renewal(session: AsyncSession, *, conversation: Conversation, reply: Message) -> None:
    """CONFIRMAR answers the latest unconfirmed renewal reminder of the conversation (once)."""
    reminder = await repository.latest_reminder(session, conversation.id, since=utcnow() - RENEWAL_WINDOW)
    if reminder is None or conversation.customer_id is None:
        return
    policy_id = uuid.UUID(str(reminder.context["policy_id"]))
    confirmed = await repository.confirm_reminder(
        session,
        reminder_id=reminder.id,
        policy_id=policy_id,
        customer_id=conversation.customer_id,
        reply_id=reply.id,
    )
    if not confirmed:
        return
    await OUTBOX.publish(
        session,
        RenewalConfirmed(
            policy_id=policy_id,
            customer_id=conversation.customer_id,
            channel=reply.channel,
            message_id=reply.id,
            reminder_message_id=reminder.id,
            confirmed_at=reply.created_at,
        ),
        key=str(policy_id),
    )


# --- consent -------------------------------------------------------------------------------------


async def set_consent(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    opted_out: bool,
    keyword: str,
    customer_id: uuid.UUID | None,
) -> None:
    """Record an opt-out (or opt back in) and publish it; repeating the same state is a no-op."""
    current = await repository.opt_out_state(session, channel, address)
    if current is None and not opted_out:
        return
    if current is not None and current.opted_out == opted_out:
        return
    await repository.set_opt_out(
        session,
        channel=channel,
        address=address,
        opted_out=opted_out,
        keyword=keyword,
        customer_id=customer_id,
    )
    now = utcnow()
    event: ContactOptedOut | ContactOptedIn = (
        ContactOptedOut(
            channel=channel, address=address, customer_id=customer_id, keyword=keyword, opted_out_at=now
        )
        if opted_out
        else ContactOptedIn(
            channel=channel, address=address, customer_id=customer_id, keyword=keyword, opted_in_at=now
        )
    )
    await OUTBOX.publish(session, event, key=address)


async def is_opted_out(session: AsyncSession, *, channel: str, address: str) -> bool:
    state: OptOut | None = await repository.opt_out_state(session, channel, address)
    return bool(state and state.opted_out)


def consent_applies(*, channel: str, purpose: str) -> bool:
    """STOP on WhatsApp or SMS stops everything there; on e-mail an unsubscribe stops marketing."""
    return channel in ("whatsapp", "sms") or purpose == "marketing"


async def opt_outs(session: AsyncSession, *, offset: int, limit: int) -> tuple[Sequence[OptOut], int]:
    return await repository.opt_outs(session, offset=offset, limit=limit)


# --- outbound ------------------------------------------------------------------------------------


async def queue(
    session: AsyncSession, *, outbound: Outbound, conversation: Conversation | None = None
) -> Message:
    """Store an outbound message ``queued`` for the dispatcher (409 if the recipient opted out).

    A conversation opened by an automated message starts resolved (nothing for an agent to do);
    the customer's reply reopens it. One an agent starts is pending and theirs.
    """
    if consent_applies(channel=outbound.channel, purpose=outbound.purpose) and await is_opted_out(
        session, channel=outbound.channel, address=outbound.to_address
    ):
        raise OptedOut(f"The recipient opted out of {outbound.channel} messages.")
    if conversation is None:
        by_agent = outbound.sender_type == "agent"
        found = await conversations.find_or_create(
            session,
            channel=outbound.channel,
            address=outbound.to_address,
            customer_id=outbound.customer_id,
            customer_user_id=outbound.customer_user_id,
            display_name=outbound.display_name,
            subject=outbound.subject,
            initial_status="pending" if by_agent else "resolved",
            reopen=False,
            kind="account" if outbound.account else "contact",
        )
        conversation = found.conversation
        if by_agent and conversation.assignee_id is None and conversation.status != "resolved":
            await conversations.set_assignee(session, conversation=conversation, agent_id=outbound.sender_id)
    message = await _store(
        session,
        conversation=conversation,
        values={
            "channel": outbound.channel,
            "direction": "outbound",
            "sender_type": outbound.sender_type,
            "sender_id": outbound.sender_id,
            "from_address": outbound.from_address,
            "to_address": outbound.to_address,
            "subject": outbound.subject,
            "body": outbound.body,
            "html": outbound.html,
            "media": list(outbound.media),
            "template": outbound.template,
            "language": outbound.language,
            "context": {**outbound.context, "purpose": outbound.purpose},
            "campaign_id": outbound.campaign_id,
            "in_reply_to": outbound.in_reply_to,
            "status": "queued",
            "next_attempt_at": func.now(),
        },
    )
    assert message is not None
    if outbound.sealed is not None:
        await repository.seal(
            session, message_id=message.id, body=outbound.sealed.body, html=outbound.sealed.html
        )
    if outbound.attachments:
        await repository.add_attachments(
            session,
            [
                Attachment(
                    message_id=message.id,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=len(a.content),
                    content=a.content,
                )
                for a in outbound.attachments
            ],
        )
    await conversations.touch(
        session, conversation=conversation, preview=_preview(message), at=message.created_at, inbound=False
    )
    await session.execute(select(func.pg_notify(DISPATCH_CHANNEL, "")))
    await _live_message(session, conversation=conversation, message=message)
    return message


async def post_chat(
    session: AsyncSession,
    *,
    conversation: Conversation,
    sender_type: str,
    sender_id: uuid.UUID,
    body: str,
    client_id: str | None,
) -> tuple[Message, bool]:
    """Persist a chat message, then broadcast it (at commit); a repeated ``client_id`` returns the
    stored message instead of a second one. Returns (message, created)."""
    if client_id:
        existing = await repository.by_client_id(session, conversation.id, client_id)
        if existing is not None:
            return existing, False
    inbound = sender_type == "customer"
    if inbound and conversation.status in ("resolved", "snoozed"):
        found = await conversations.find_or_create(
            session,
            channel="chat",
            address=conversation.address,
            customer_id=conversation.customer_id,
            customer_user_id=conversation.customer_user_id,
            display_name=conversation.display_name,
        )
        conversation = found.conversation
    message = await _store(
        session,
        conversation=conversation,
        values={
            "channel": "chat",
            "direction": "inbound" if inbound else "outbound",
            "sender_type": sender_type,
            "sender_id": sender_id,
            "from_address": str(sender_id),
            "to_address": conversation.address if not inbound else "",
            "body": body,
            "client_id": client_id,
            "provider": "chat",
            "status": "received" if inbound else "sent",
            "sent_at": None if inbound else func.now(),
        },
    )
    if message is None:  # the same client id raced in on another connection
        existing = await repository.by_client_id(session, conversation.id, client_id or "")
        assert existing is not None
        return existing, False
    await conversations.touch(
        session, conversation=conversation, preview=_preview(message), at=message.created_at, inbound=inbound
    )
    if inbound:
        await agents.auto_assign(session, conversation=conversation)
        await OUTBOX.publish(
            session,
            MessageReceived(
                message_id=message.id,
                conversation_id=conversation.id,
                channel="chat",
                customer_id=conversation.customer_id,
                from_address=str(sender_id),
                preview=_preview(message),
                received_at=message.created_at,
            ),
            key=str(conversation.id),
        )
    await _interaction(
        session, message=message, conversation=conversation, outcome="received" if inbound else "sent"
    )
    await _live_message(session, conversation=conversation, message=message)
    return message, True


async def chat_event(
    session: AsyncSession, *, conversation: Conversation, kind: str, actor_id: uuid.UUID | None
) -> Message:
    """A persisted chat event (agent joined, closed, reopened) in the message sequence."""
    message = await _store(
        session,
        conversation=conversation,
        values={
            "channel": conversation.channel,
            "direction": "outbound",
            "kind": kind,
            "sender_type": "system",
            "sender_id": actor_id,
            "body": "",
            "status": "sent",
        },
    )
    assert message is not None
    await _live_message(session, conversation=conversation, message=message)
    return message


# --- delivery results and status callbacks -------------------------------------------------------


async def record_accepted(
    session: AsyncSession, *, message: Message, provider: str, provider_message_id: str, status: str
) -> None:
    """The provider took the message: store its id, publish ``message.sent`` and the interaction."""
    message.provider = provider
    message.provider_message_id = provider_message_id[:100]
    message.status = status if STATUS_RANK.get(status, 0) >= STATUS_RANK["sent"] else "sent"
    message.sent_at = utcnow()
    message.claimed_at = None
    message.status_updated_at = utcnow()
    await session.flush()
    await _after_send(session, message=message, outcome="sent")


async def record_failure(
    session: AsyncSession, *, message: Message, code: str | None, detail: str, retry_at: datetime | None
) -> None:
    """A failed attempt: queued again for ``retry_at``, or failed for good (published) when None."""
    message.error_code = (code or "")[:20] or None
    message.error_message = detail[:500]
    message.claimed_at = None
    message.status_updated_at = utcnow()
    if retry_at is not None:
        message.status = "queued"
        message.next_attempt_at = retry_at
        await session.flush()
        return
    message.status = "failed"
    await session.flush()
    await _after_send(session, message=message, outcome="failed")


async def _after_send(session: AsyncSession, *, message: Message, outcome: str) -> None:
    await repository.unseal(session, message_id=message.id)  # the secret is not kept once it went out
    conversation = await conversations.get(session, conversation_id=message.conversation_id)
    assert conversation is not None
    await OUTBOX.publish(
        session,
        MessageSent(
            message_id=message.id,
            conversation_id=conversation.id,
            channel=message.channel,
            customer_id=conversation.customer_id,
            to_address=message.to_address,
            status="sent" if outcome == "sent" else "failed",
            provider=message.provider or "none",
            template=message.template,
            campaign_id=message.campaign_id,
            sent_at=utcnow(),
        ),
        key=str(conversation.id),
    )
    await _interaction(session, message=message, conversation=conversation, outcome=outcome)
    await _live_status(session, message=message)


async def _live_status(session: AsyncSession, *, message: Message) -> None:
    event = {
        "type": "message.status",
        "conversation_id": str(message.conversation_id),
        "message_id": str(message.id),
        "status": message.status,
        "error_code": message.error_code,
    }
    await live.notify(session, live.INBOX_TOPIC, event)


async def apply_status(
    session: AsyncSession,
    *,
    provider: str,
    event_id: str,
    message: Message | None,
    status: str,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """Apply a provider's delivery report once (by event id); never moves a message backwards.

    Returns False for a repeated event or an unknown message.
    """
    if message is None:  # not ours, or not recorded yet: nothing to apply, a retry may still land
        return False
    fresh = await repository.record_provider_event(
        session, provider=provider, event_id=event_id, message_id=message.id, status=status
    )
    if not fresh:
        return False
    current = STATUS_RANK.get(message.status, 0)
    new = STATUS_RANK.get(status)
    if new is None or message.status in FINAL_FAILURES or (new <= current and status not in FINAL_FAILURES):
        return True
    now = utcnow()
    values: dict[str, Any] = {"status": status, "status_updated_at": now}
    if status == "delivered":
        values["delivered_at"] = now
    if status in ("read", "opened"):
        values["read_at"] = now
        values.setdefault("delivered_at", message.delivered_at or now)
    if status in FINAL_FAILURES:
        values["error_code"] = (error_code or "")[:20] or None
        values["error_message"] = (error_message or "")[:500] or None
    await repository.set_status(session, message.id, values)
    await session.refresh(message)
    await _live_status(session, message=message)
    return True


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
    session: AsyncSession, *, channel: str, customer_id: uuid.UUID, offset: int, limit: int
) -> tuple[Sequence[Message], int]:
    return await repository.history(
        session, channel=channel, customer_id=customer_id, offset=offset, limit=limit
    )


async def claim_due(session: AsyncSession, *, limit: int) -> Sequence[Message]:
    """Claim queued messages for sending: marked ``sending`` so no other dispatcher takes them."""
    due = await repository.claim_due(session, limit=limit, now=utcnow())
    now = utcnow()
    for message in due:
        message.status = "sending"
        message.claimed_at = now
        message.attempts += 1
    await session.flush()
    return due


async def fail_stuck(session: AsyncSession, *, older_than: timedelta) -> int:
    """Messages left ``sending`` by a crashed dispatcher: the provider may have them, so they are
    failed (outcome unknown) rather than sent a second time."""
    stuck = await repository.stuck_sending(session, claimed_before=utcnow() - older_than)
    for message in stuck:
        await record_failure(
            session,
            message=message,
            code="unknown",
            detail="The dispatcher stopped while sending; not retried to avoid a duplicate.",
            retry_at=None,
        )
    return len(stuck)


async def cancel_queued(session: AsyncSession, *, campaign_id: uuid.UUID) -> None:
    """A cancelled campaign's messages not yet handed to a provider are failed, never sent."""
    await repository.fail_queued_of_campaign(session, campaign_id)
