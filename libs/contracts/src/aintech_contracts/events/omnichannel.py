"""Events of omnichannel (messages, consent, renewal confirmations, campaigns).

Every message omnichannel stores or sends is also published as ``interaction.logged`` on
``crm.interaction`` (a CRM contract) so it reaches the customer's timeline; the events below are
omnichannel's own facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from aintech_contracts.events.base import EventData, declare_topic
from aintech_contracts.statuses import SendStatus

MESSAGE_TOPIC = declare_topic("omnichannel.message", 6)
CONSENT_TOPIC = declare_topic("omnichannel.consent", 3)
CONFIRMATION_TOPIC = declare_topic("omnichannel.confirmation", 3)
CAMPAIGN_TOPIC = declare_topic("omnichannel.campaign", 3)

MessageChannel = Literal["whatsapp", "sms", "email", "chat"]
SentimentLabel = Literal["positive", "neutral", "negative"]


class MessageReceived(EventData):
    """A customer's message arrived (WhatsApp, SMS, e-mail or chat) and is stored. Key: conversation."""

    event_type = "message.received"
    topic = MESSAGE_TOPIC
    message_id: UUID
    conversation_id: UUID
    channel: MessageChannel
    customer_id: UUID | None = None
    from_address: str
    preview: str = Field(max_length=200)
    received_at: datetime
    agent_id: UUID | None = Field(
        default=None, description="The agent the conversation was assigned to when the message arrived."
    )
    sentiment_score: float | None = Field(
        default=None, ge=-1, le=1, description="Sentiment of the text: -1 very negative, 1 very positive."
    )
    sentiment_label: SentimentLabel | None = None


class MessageSent(EventData):
    """The provider accepted an outbound message (or refused it: ``status`` failed). Key: conversation."""

    event_type = "message.sent"
    topic = MESSAGE_TOPIC
    message_id: UUID
    conversation_id: UUID
    channel: MessageChannel
    customer_id: UUID | None = None
    to_address: str
    status: SendStatus
    provider: str
    template: str | None = None
    campaign_id: UUID | None = None
    sent_at: datetime


class ContactOptedOut(EventData):
    """A recipient asked to receive nothing more on a channel (STOP, BAJA, unsubscribe). Key: address."""

    event_type = "contact.opted_out"
    topic = CONSENT_TOPIC
    channel: MessageChannel
    address: str
    customer_id: UUID | None = None
    keyword: str
    opted_out_at: datetime


class ContactOptedIn(EventData):
    """A recipient who had opted out asked to receive messages again (START, ALTA). Key: address."""

    event_type = "contact.opted_in"
    topic = CONSENT_TOPIC
    channel: MessageChannel
    address: str
    customer_id: UUID | None = None
    keyword: str
    opted_in_at: datetime


class RenewalConfirmed(EventData):
    """A customer answered a renewal reminder with CONFIRMAR: the CRM renews the policy. Key: policy.

    Published once per reminder; ``message_id`` is the customer's reply, ``reminder_message_id``
    the reminder it answered.
    """

    event_type = "renewal.confirmed"
    topic = CONFIRMATION_TOPIC
    policy_id: UUID
    customer_id: UUID
    channel: MessageChannel
    message_id: UUID
    reminder_message_id: UUID
    confirmed_at: datetime


class CampaignCompleted(EventData):
    """Every recipient of a campaign was sent, skipped or failed. Key: campaign."""

    event_type = "campaign.completed"
    topic = CAMPAIGN_TOPIC
    campaign_id: UUID
    name: str
    channel: MessageChannel
    segment: str
    sent: int
    failed: int
    skipped: int
    completed_at: datetime
