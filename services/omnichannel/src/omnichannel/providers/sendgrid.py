"""E-mail through the official SendGrid SDK (its blocking client runs in a worker thread)."""

from __future__ import annotations

import base64
import urllib.error

import anyio.to_thread
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    ReplyTo,
    To,
)

from aintech_shared.metrics import observe_provider
from omnichannel.providers.base import Accepted, OutgoingEmail, ProviderError


class SendGridEmail:
    """The real adapter: ``SendGridAPIClient.send`` of a ``Mail`` with our id in ``custom_args``."""

    name = "sendgrid"

    def __init__(
        self, *, api_key: str, host: str, from_email: str, from_name: str, timeout: float = 10.0
    ) -> None:
        self.client = SendGridAPIClient(api_key, host=host)
        self.client.client.timeout = timeout
        self.from_email = from_email
        self.from_name = from_name

    def build(self, message: OutgoingEmail) -> Mail:
        mail = Mail(
            from_email=From(self.from_email, self.from_name),
            to_emails=To(message.to, message.to_name),
            subject=message.subject,
            plain_text_content=message.text,
            html_content=message.html,
        )
        mail.custom_arg = CustomArg("aintech_message_id", message.message_id)
        mail.header = Header("Message-ID", message.rfc_message_id)
        if message.in_reply_to:
            mail.header = Header("In-Reply-To", message.in_reply_to)
            mail.header = Header("References", message.in_reply_to)
        if message.reply_to:
            mail.reply_to = ReplyTo(message.reply_to)
        for item in message.attachments:
            mail.attachment = Attachment(
                FileContent(base64.b64encode(item.content).decode()),
                FileName(item.filename),
                FileType(item.content_type),
                Disposition("attachment"),
            )
        return mail

    async def send_email(self, message: OutgoingEmail) -> Accepted:
        mail = self.build(message)
        async with observe_provider("sendgrid", "send_email") as call:
            try:
                response = await anyio.to_thread.run_sync(self.client.send, mail)
            except HTTPError as exc:
                status = int(getattr(exc, "status_code", 0) or 0)
                call.from_status(status)
                transient = status == 429 or status >= 500
                raise ProviderError(
                    f"SendGrid refused the e-mail ({status}): {str(exc.body)[:300]}",
                    code=str(status),
                    transient=transient,
                ) from exc
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                call.outcome = "unreachable"
                raise ProviderError(f"SendGrid unreachable: {exc!r}", transient=True) from exc
        provider_id = response.headers.get("X-Message-Id") or message.message_id
        return Accepted(provider=self.name, provider_message_id=str(provider_id), status="sent")

    async def close(self) -> None:
        return None
