"""Templates to people: pick the channel, render in their language, queue the message."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import UnprocessableEntity
from omnichannel.contacts.service import Recipient
from omnichannel.messaging import outbound as outbound_queue
from omnichannel.messaging import store as message_store
from omnichannel.messaging.models import Message
from omnichannel.templating.service import ACCOUNT_TEMPLATES, has_secrets, redacted_variables, render
from omnichannel.whatsapp import service as whatsapp

log = structlog.get_logger("omnichannel.templated")

SENDABLE = ("email", "whatsapp", "sms")


def choose_channel(recipient: Recipient, requested: str | None = None) -> str | None:
    """The requested channel, else the preferred one, else whichever address we have (e-mail first)."""
    order: list[str] = []
    for candidate in (requested, recipient.preferred_channel, "email", "whatsapp", "sms"):
        if candidate in SENDABLE and candidate not in order:
            order.append(candidate)
    if requested is not None:
        order = [requested]
    for channel in order:
        if channel == "email" and recipient.email:
            return channel
        if channel in ("whatsapp", "sms") and recipient.mobile:
            return channel
    return None


async def send_template(
    session: AsyncSession,
    *,
    recipient: Recipient,
    template: str,
    variables: dict[str, Any],
    channel: str | None = None,
    language: str | None = None,
    purpose: str = "transactional",
    context: dict[str, Any] | None = None,
    sender_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    strict: bool = False,
    refusals: list[str] | None = None,
) -> Message | None:
    """Queue ``template`` for ``recipient``; None (logged) when there is no way to reach them, they
    opted out or WhatsApp's window is closed with no approved template (the reason appended to
    ``refusals``), unless ``strict``, which raises instead (422 / 409). Account mails go to the address's
    account thread (never a customer's conversation); secrets are stored redacted."""
    chosen = choose_channel(recipient, channel)
    if chosen is None:
        if strict:
            raise UnprocessableEntity(f"The customer has no address for {channel or 'any channel'}.")
        log.info("template_unreachable", template=template, customer_id=str(recipient.customer_id))
        return None
    values = {"first_name": recipient.first_name, **variables}
    rendered = render(template, language=language or recipient.language, variables=values)
    sealed: message_store.Sealed | None = None
    if has_secrets(template):
        # What is stored and listed carries the secret redacted; the provider gets the real one.
        sealed = message_store.Sealed(
            body=rendered.text if chosen == "email" else rendered.short,
            html=rendered.html if chosen == "email" else None,
        )
        rendered = render(
            template, language=rendered.language, variables=redacted_variables(template, values)
        )
    address = recipient.email if chosen == "email" else recipient.mobile
    assert address is not None
    content: whatsapp.Content | None = None
    if chosen == "whatsapp":
        try:
            content = await whatsapp.content_for(
                session, purpose=template, language=rendered.language, address=address, values=values
            )
        except whatsapp.TemplateRequired as refused:
            if strict:
                raise
            if refusals is not None:
                refusals.append(refused.detail)
            log.warning(
                "whatsapp_not_sent",
                template=template,
                reason=refused.reason,
                customer_id=str(recipient.customer_id),
            )
            await whatsapp.surface(
                session,
                reason=refused.reason,
                detail=refused.detail,
                purpose=template,
                language=rendered.language,
                customer_id=str(recipient.customer_id),
            )
            return None
    account = template in ACCOUNT_TEMPLATES
    outbound = outbound_queue.Outbound(
        channel=chosen,
        to_address=address,
        subject=rendered.subject if chosen == "email" else None,
        body=rendered.text if chosen == "email" else rendered.short,
        html=rendered.html if chosen == "email" else None,
        sealed=sealed,
        account=account,
        template=template,
        language=rendered.language,
        context=context or {},
        sender_type="agent" if sender_id else "system",
        sender_id=sender_id,
        customer_id=None if account else recipient.customer_id,
        customer_user_id=None if account else recipient.user_id,
        display_name=recipient.display_name,
        campaign_id=campaign_id,
        purpose=purpose,
        content=content.as_context() if content else None,
    )
    try:
        return await outbound_queue.queue(session, outbound=outbound)
    except outbound_queue.OptedOut:
        if strict:
            raise
        log.info("template_skipped_opted_out", template=template, channel=chosen)
        return None
