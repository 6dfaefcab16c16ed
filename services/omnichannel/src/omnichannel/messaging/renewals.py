"""Renewal confirmations: a CONFIRMAR reply answers the latest unconfirmed renewal reminder of the
conversation (once) and publishes ``renewal.confirmed`` for the CRM."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import (
    RenewalConfirmed,
)
from omnichannel.conversations.models import Conversation
from omnichannel.core.base import utcnow
from omnichannel.core.events import OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.models import Message

CONFIRM_KEYWORDS = frozenset({"CONFIRMAR", "CONFIRMO", "CONFIRM"})


# A CONFIRMAR reply counts for a reminder sent within this window.
RENEWAL_WINDOW = timedelta(days=30)


async def confirm_renewal(session: AsyncSession, *, conversation: Conversation, reply: Message) -> None:
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
