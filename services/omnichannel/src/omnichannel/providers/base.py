"""What the dispatcher asks of a provider, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingText:
    """A WhatsApp or SMS message for Twilio."""

    channel: str  # whatsapp | sms
    to: str  # E.164
    body: str
    media_urls: tuple[str, ...] = ()
    status_callback: str | None = None
    # What may be shown of it (secrets redacted); the console log records this, never ``body``.
    listed_body: str | None = None
    # A WhatsApp template (Twilio Content API): sent instead of ``body`` when set.
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    """An e-mail for SendGrid."""

    to: str
    to_name: str | None
    subject: str
    text: str
    html: str | None
    message_id: str  # our id, echoed back by the event webhook (custom_args)
    rfc_message_id: str  # the Message-ID header, for threading replies
    reply_to: str | None = None
    in_reply_to: str | None = None
    attachments: tuple[OutgoingAttachment, ...] = field(default_factory=tuple)
    # What may be shown of it (secrets redacted); the console log records these, never the real text.
    listed_text: str | None = None
    listed_html: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The provider took the message: its id and initial status."""

    provider: str
    provider_message_id: str
    status: str = "sent"


class ProviderError(Exception):
    """The provider refused or could not be reached.

    ``transient`` errors (timeouts, 429, 5xx) are retried with backoff; the others fail the
    message with the provider's code.
    """

    def __init__(self, message: str, *, code: str | None = None, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class TextProvider(Protocol):
    name: str

    async def send_text(self, message: OutgoingText) -> Accepted: ...

    async def close(self) -> None: ...


class EmailProvider(Protocol):
    name: str

    async def send_email(self, message: OutgoingEmail) -> Accepted: ...

    async def close(self) -> None: ...
