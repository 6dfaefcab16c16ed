"""Tables of the `omnichannel` schema (imported here so Alembic sees the whole metadata)."""

from omnichannel.agents.models import Agent
from omnichannel.campaigns.models import Campaign, CampaignRecipient
from omnichannel.contacts.models import Contact, PlatformUser
from omnichannel.conversations.models import Conversation, ConversationNote
from omnichannel.core.base import MESSAGING, Base
from omnichannel.delivery.models import CrmEmailRequest, ParkedDelivery
from omnichannel.messaging.models import (
    Attachment,
    Message,
    OptOut,
    ProviderEvent,
    RateCounter,
    RenewalConfirmation,
    SealedContent,
)
from omnichannel.notifications.models import Notification, NotificationPreference, SlackPost
from omnichannel.providers.models import ConsoleDelivery
from omnichannel.whatsapp.models import WhatsAppTemplate

__all__ = [
    "MESSAGING",
    "Agent",
    "Attachment",
    "Base",
    "Campaign",
    "CampaignRecipient",
    "ConsoleDelivery",
    "Contact",
    "Conversation",
    "ConversationNote",
    "CrmEmailRequest",
    "Message",
    "Notification",
    "NotificationPreference",
    "OptOut",
    "ParkedDelivery",
    "PlatformUser",
    "ProviderEvent",
    "RateCounter",
    "RenewalConfirmation",
    "SealedContent",
    "SlackPost",
    "WhatsAppTemplate",
]
