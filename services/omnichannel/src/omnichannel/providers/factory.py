"""The adapters a process uses: the real providers when credentials are set, else the console."""

from __future__ import annotations

from dataclasses import dataclass

from aintech_shared.db import Database
from omnichannel.providers.base import EmailProvider, TextProvider
from omnichannel.providers.console import ConsoleEmail, ConsoleMessaging
from omnichannel.providers.sendgrid import SendGridEmail
from omnichannel.providers.twilio import TwilioMessaging
from omnichannel.settings import Settings


@dataclass
class Providers:
    text: TextProvider
    email: EmailProvider

    async def close(self) -> None:
        await self.text.close()
        await self.email.close()


def build_providers(settings: Settings, db: Database) -> Providers:
    """Must run inside the event loop (the Twilio client opens an aiohttp session)."""
    text: TextProvider
    email: EmailProvider
    if settings.twilio_configured:
        text = TwilioMessaging(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            base_url=settings.twilio_api_base_url,
            sms_from=settings.twilio_sms_from,
            whatsapp_from=settings.twilio_whatsapp_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            timeout=settings.twilio_timeout_seconds,
        )
    else:
        text = ConsoleMessaging(
            db, sms_from=settings.twilio_sms_from, whatsapp_from=settings.twilio_whatsapp_from
        )
    if settings.sendgrid_configured:
        email = SendGridEmail(
            api_key=settings.sendgrid_api_key.get_secret_value(),
            host=settings.sendgrid_api_host,
            from_email=settings.email_from,
            from_name=settings.email_from_name,
        )
    else:
        email = ConsoleEmail(db, from_email=settings.email_from)
    return Providers(text=text, email=email)
