"""Turn verified provider callbacks into stored messages and delivery states."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import BadRequest
from aintech_shared.phones import caller_id
from omnichannel.core.addresses import email_address
from omnichannel.core.text import clean
from omnichannel.messaging import consent, delivery_status
from omnichannel.messaging import inbound as inbound_intake
from omnichannel.messaging import store as message_store
from omnichannel.messaging.inbound import Inbound
from omnichannel.messaging.models import Message
from omnichannel.messaging.store import InboundAttachment

log = structlog.get_logger("omnichannel.webhooks")

MAX_MEDIA = 10
# SendGrid event -> our delivery state (None: recorded as seen, no state change).
SENDGRID_STATES: dict[str, str | None] = {
    "processed": "sent",
    "delivered": "delivered",
    "open": "opened",
    "bounce": "bounced",
    "dropped": "failed",
    "deferred": None,
    "click": None,
    "unsubscribe": None,
    "group_unsubscribe": None,
    "group_resubscribe": None,
    "spamreport": None,
}
UNSUBSCRIBES = ("unsubscribe", "group_unsubscribe", "spamreport")


def _field(form: Mapping[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    return clean(value if isinstance(value, str) else None, limit)


async def twilio_inbound(session: AsyncSession, *, form: Mapping[str, Any]) -> Message | None:
    """An inbound WhatsApp or SMS message (Twilio Messaging webhook); None when already stored."""
    sid = _field(form, "MessageSid", 100) or _field(form, "SmsMessageSid", 100)
    sender = _field(form, "From", 100)
    if not sid or not sender:
        raise BadRequest("MessageSid and From are required.")
    whatsapp = sender.lower().startswith("whatsapp:")
    media: list[dict[str, Any]] = []
    count = _field(form, "NumMedia", 4)
    for index in range(min(int(count) if count.isdigit() else 0, MAX_MEDIA)):
        url = _field(form, f"MediaUrl{index}", 500)
        if url:
            media.append({"url": url, "content_type": _field(form, f"MediaContentType{index}", 100)})
    return await inbound_intake.receive(
        session,
        inbound=Inbound(
            channel="whatsapp" if whatsapp else "sms",
            from_address=caller_id(sender, limit=320),
            to_address=caller_id(_field(form, "To", 100), limit=320),
            body=_field(form, "Body", 10_000),
            provider="twilio",
            provider_message_id=sid,
            media=media,
            display_name=_field(form, "ProfileName", 200) or None,
        ),
    )


async def twilio_status(session: AsyncSession, *, form: Mapping[str, Any]) -> bool:
    """A delivery report for a message we sent (applied once per SID and status)."""
    sid = _field(form, "MessageSid", 100)
    status = _field(form, "MessageStatus", 30).lower()
    if not sid or not status:
        raise BadRequest("MessageSid and MessageStatus are required.")
    message = await message_store.by_provider_id(session, provider="twilio", provider_message_id=sid)
    return await delivery_status.apply_status(
        session,
        provider="twilio",
        event_id=f"{sid}:{status}",
        message=message,
        status=status,
        error_code=_field(form, "ErrorCode", 20) or None,
        error_message=_field(form, "ErrorMessage", 500) or None,
    )


async def sendgrid_events(session: AsyncSession, *, payload: bytes) -> dict[str, int]:
    """Apply a batch of SendGrid events (each once, by ``sg_event_id``); counts by outcome."""
    try:
        events = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The event webhook body is not JSON.") from exc
    if not isinstance(events, list):
        raise BadRequest("The event webhook body must be a JSON array.")
    counts = {"applied": 0, "duplicate": 0, "unknown": 0}
    for event in events[:1000]:
        if not isinstance(event, dict):
            counts["unknown"] += 1
            continue
        outcome = await _sendgrid_event(session, event)
        counts[outcome] += 1
    return counts


async def _sendgrid_event(session: AsyncSession, event: dict[str, Any]) -> str:
    kind = str(event.get("event", ""))[:30]
    event_id = str(event.get("sg_event_id") or "")[:200]
    message = await _sendgrid_message(session, event)
    if not event_id or message is None or kind not in SENDGRID_STATES:
        return "unknown"
    state = SENDGRID_STATES[kind]
    applied = await delivery_status.apply_status(
        session,
        provider="sendgrid",
        event_id=event_id,
        message=message,
        status=state or kind,
        error_code=str(event.get("status") or event.get("type") or "")[:20] or None,
        error_message=str(event.get("reason") or "")[:500] or None,
    )
    if applied and kind in UNSUBSCRIBES:
        await consent.set_consent(
            session,
            channel="email",
            address=message.to_address,
            opted_out=True,
            keyword=kind,
            customer_id=None,
        )
    return "applied" if applied else "duplicate"


async def _sendgrid_message(session: AsyncSession, event: dict[str, Any]) -> Message | None:
    ours = event.get("aintech_message_id")
    if isinstance(ours, str):
        try:
            found = await message_store.get(session, message_id=uuid.UUID(ours))
        except ValueError:
            found = None
        if found is not None and found.channel == "email":
            return found
    sg_id = str(event.get("sg_message_id") or "").split(".", 1)[0][:100]
    if sg_id:
        return await message_store.by_provider_id(session, provider="sendgrid", provider_message_id=sg_id)
    return None


async def sendgrid_inbound(
    session: AsyncSession, *, form: Mapping[str, Any], files: Sequence[InboundAttachment], raw: bytes
) -> Message | None:
    """An e-mail a customer sent (Inbound Parse): threaded to the sender's e-mail conversation."""
    name, sender = parseaddr(_field(form, "from", 1000))
    if not sender or "@" not in sender:
        raise BadRequest("The inbound e-mail has no sender address.")
    headers = email.parser.HeaderParser(policy=email.policy.default).parsestr(
        _field(form, "headers", 100_000)
    )
    message_id = clean(str(headers.get("Message-ID") or ""), 255).strip() or None
    in_reply_to = clean(str(headers.get("In-Reply-To") or ""), 255).strip() or None
    dedupe = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    _, recipient = parseaddr(_field(form, "to", 1000))
    return await inbound_intake.receive(
        session,
        inbound=Inbound(
            channel="email",
            from_address=email_address(sender)[:320],
            to_address=email_address(recipient or "")[:320],
            subject=clean(" ".join(_field(form, "subject", 2000).split()), 500) or None,
            body=_field(form, "text", 2_000_000),
            html=_field(form, "html", 2_000_000) or None,
            provider="sendgrid",
            provider_message_id=dedupe[:100],
            email_message_id=message_id,
            in_reply_to=in_reply_to,
            attachments=files,
            display_name=clean(name, 200) or None,
        ),
    )
