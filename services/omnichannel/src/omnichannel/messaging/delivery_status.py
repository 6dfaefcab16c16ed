"""Delivery status: what the provider answered to a send (accepted or failed, ``message.sent``),
and the delivery reports it sends later, applied once and never backwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import (
    MessageSent,
)
from aintech_contracts.statuses import SendStatus
from omnichannel.conversations import service as conversations
from omnichannel.core import live
from omnichannel.core.base import utcnow
from omnichannel.core.events import OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.models import FINAL_FAILURES, STATUS_RANK, Message
from omnichannel.messaging.store import log_interaction
from omnichannel.whatsapp import service as whatsapp


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
    await _whatsapp_problem(session, message=message, code=code)
    await session.flush()
    await _after_send(session, message=message, outcome="failed")


async def _whatsapp_problem(session: AsyncSession, *, message: Message, code: str | None) -> None:
    """A WhatsApp template error (63016 and kin) reaches the staff inbox in our words, never dropped."""
    explanation = whatsapp.explain(code) if message.channel == "whatsapp" else None
    if explanation is None:
        return
    message.error_message = (
        f"{explanation} ({message.error_message})"[:500] if message.error_message else explanation
    )
    whatsapp.PROBLEMS.labels(f"error_{code}").inc()
    await whatsapp.surface(
        session,
        reason=f"error_{code}",
        detail=explanation,
        message_id=str(message.id),
        conversation_id=str(message.conversation_id),
        template=message.template,
    )


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
            status=SendStatus.sent if outcome == "sent" else SendStatus.failed,
            provider=message.provider or "none",
            template=message.template,
            campaign_id=message.campaign_id,
            sent_at=utcnow(),
        ),
        key=str(conversation.id),
    )
    await log_interaction(session, message=message, conversation=conversation, outcome=outcome)
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
    if status in FINAL_FAILURES:
        await _whatsapp_problem(session, message=message, code=error_code)
        await session.flush()
    await _live_status(session, message=message)
    return True
