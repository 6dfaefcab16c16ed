"""A very negative customer message alerts the supervisors (``negative_message`` in the
notification centre), read from omnichannel's own ``message.received`` so the intake stays fast and
the alert is at-least-once like every other consumer: one notification per supervisor and event."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.omnichannel import MessageReceived
from omnichannel.contacts import service as contacts
from omnichannel.notifications import service as notifications
from omnichannel.sentiment.scorer import VERY_NEGATIVE
from omnichannel.templating.service import render_inapp


async def on_message_received(session: AsyncSession, event: CloudEvent) -> None:
    """Tell every supervisor about a message scored at or below ``VERY_NEGATIVE``."""
    data = event.data_as(MessageReceived)
    if data.sentiment_score is None or data.sentiment_score > VERY_NEGATIVE:
        return
    contact = await contacts.get(session, customer_id=data.customer_id) if data.customer_id else None
    who = contact.display_name if contact is not None else data.from_address
    for supervisor in await contacts.supervisors(session):
        own = await contacts.for_user(session, user_id=supervisor)
        notice = render_inapp(
            "negative_message",
            language=own.preferred_language if own else None,
            variables={"customer": who, "channel": data.channel, "preview": data.preview},
        )
        await notifications.notify(
            session,
            user_id=supervisor,
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            link=f"/conversations/{data.conversation_id}",
            data={
                "conversation_id": str(data.conversation_id),
                "message_id": str(data.message_id),
                "sentiment_score": data.sentiment_score,
                "agent_id": str(data.agent_id) if data.agent_id else None,
            },
            source_event_id=f"{event.id}:{supervisor}"[:100],
        )
