"""The outbound queue: messages stored ``queued`` in the caller's transaction and sent by the
worker's dispatcher after commit (``omnichannel.delivery``), so a provider outage never loses a
message and a retried request never sends twice; claiming due messages, failing stuck ones,
cancelling a campaign's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import ConversationStatus
from aintech_shared import live
from aintech_shared.errors import Conflict
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core.base import utcnow
from omnichannel.core.events import DISPATCH_CHANNEL
from omnichannel.messaging import repository
from omnichannel.messaging.consent import (
    consent_applies,
    is_opted_out,
)
from omnichannel.messaging.delivery_status import record_failure
from omnichannel.messaging.models import Attachment, Message
from omnichannel.messaging.store import InboundAttachment, Sealed, preview, push_message, store


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
    # A WhatsApp template's content SID and variables (``whatsapp.service.Content.as_context``).
    content: dict[str, Any] | None = None


# The platform templates that say what a conversation is about (the skill an agent needs for it).
TEMPLATE_TOPICS = {
    "claim_update": "claims",
    "policy_renewal_reminder": "renewals",
    "policy_renewed": "renewals",
    "quote": "sales",
}


class OptedOut(Conflict):
    """The recipient opted out of this channel."""


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
            initial_status=ConversationStatus.pending if by_agent else ConversationStatus.resolved,
            reopen=False,
            kind="account" if outbound.account else "contact",
        )
        conversation = found.conversation
        if (
            by_agent
            and conversation.assignee_id is None
            and conversation.status != ConversationStatus.resolved
        ):
            await conversations.set_assignee(session, conversation=conversation, agent_id=outbound.sender_id)
    if outbound.template in TEMPLATE_TOPICS:
        conversation.topic = TEMPLATE_TOPICS[outbound.template]
    message = await store(
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
            "context": {**outbound.context, **(outbound.content or {}), "purpose": outbound.purpose},
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
        session, conversation=conversation, preview=preview(message), at=message.created_at, inbound=False
    )
    await live.notify(session, DISPATCH_CHANNEL, {"queued": str(message.id)})
    await push_message(session, conversation=conversation, message=message)
    return message


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


async def seconds_until_due(session: AsyncSession) -> float | None:
    """Seconds until the earliest queued message is due (0 when one is due now; None: none queued)."""
    due = await repository.next_due_at(session)
    return None if due is None else max(0.0, (due - utcnow()).total_seconds())


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
