"""Console adapters: with no credentials, outbound traffic is recorded (and listed by the API to
administrators). A message carrying a secret is recorded as listed, with the secret redacted."""

from __future__ import annotations

import uuid

from aintech_shared.db import Database
from omnichannel.providers.base import Accepted, OutgoingEmail, OutgoingText
from omnichannel.providers.models import ConsoleDelivery


class ConsoleMessaging:
    name = "console"

    def __init__(self, db: Database, *, sms_from: str, whatsapp_from: str) -> None:
        self.db = db
        self.sms_from = sms_from
        self.whatsapp_from = whatsapp_from

    async def send_text(self, message: OutgoingText) -> Accepted:
        sid = "CONSOLE-SM" + uuid.uuid4().hex
        sender = self.whatsapp_from if message.channel == "whatsapp" else self.sms_from
        async with self.db.transaction() as session:
            session.add(
                ConsoleDelivery(
                    provider="twilio",
                    channel=message.channel,
                    to_address=message.to,
                    from_address=sender,
                    body=message.body if message.listed_body is None else message.listed_body,
                    provider_message_id=sid,
                    payload={
                        "media_urls": list(message.media_urls),
                        **(
                            {
                                "content_sid": message.content_sid,
                                "content_variables": message.content_variables,
                            }
                            if message.content_sid
                            else {}
                        ),
                    },
                )
            )
        return Accepted(provider=self.name, provider_message_id=sid, status="sent")

    async def close(self) -> None:
        return None


class ConsoleEmail:
    name = "console"

    def __init__(self, db: Database, *, from_email: str) -> None:
        self.db = db
        self.from_email = from_email

    async def send_email(self, message: OutgoingEmail) -> Accepted:
        sid = "CONSOLE-EM" + uuid.uuid4().hex
        async with self.db.transaction() as session:
            session.add(
                ConsoleDelivery(
                    provider="sendgrid",
                    channel="email",
                    to_address=message.to,
                    from_address=self.from_email,
                    subject=message.subject,
                    body=message.text if message.listed_text is None else message.listed_text,
                    provider_message_id=sid,
                    payload={
                        "html": message.html if message.listed_text is None else message.listed_html,
                        "reply_to": message.reply_to,
                        "message_id": message.rfc_message_id,
                        "attachments": [
                            {"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
                            for a in message.attachments
                        ],
                    },
                )
            )
        return Accepted(provider=self.name, provider_message_id=sid, status="sent")

    async def close(self) -> None:
        return None
