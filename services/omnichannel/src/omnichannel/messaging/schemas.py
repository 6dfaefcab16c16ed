"""Bodies of the sending, history and opt-out endpoints, and the message representation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field, field_validator

from omnichannel.core.text import EmailBody, MessageBody, Subject

TextChannel = Literal["whatsapp", "sms"]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    channel: str
    direction: str
    kind: str
    sender_type: str
    sender_id: uuid.UUID | None
    from_address: str
    to_address: str
    subject: str | None
    body: str
    html: str | None = None
    media: list[dict[str, Any]]
    template: str | None
    status: str
    error_code: str | None
    error_message: str | None
    provider: str | None
    provider_message_id: str | None
    client_id: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None


class TextSend(BaseModel):
    """A WhatsApp or SMS message to a phone number (E.164, or Spanish national)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to": "+34612345678", "body": "Hola Lucía, su póliza está lista.", "media_urls": []},
            ]
        },
    )

    to: str = Field(min_length=3, max_length=40)
    body: MessageBody
    media_urls: list[AnyHttpUrl] = Field(default_factory=list, max_length=10)

    @field_validator("media_urls")
    @classmethod
    def _https(cls, value: list[AnyHttpUrl]) -> list[AnyHttpUrl]:
        for url in value:
            if url.scheme != "https" or len(str(url)) > 500:
                raise ValueError("media URLs must be https and at most 500 characters")
        return value


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00\r\n]+$")
    content_type: str = Field(
        default="application/octet-stream", max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$"
    )
    content_base64: str = Field(min_length=1, description="The file, base64-encoded.")


class EmailSend(BaseModel):
    """A plain and/or HTML e-mail, with attachments (total size limited; 413 beyond)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": "lucia.martin@example.com",
                    "subject": "Documentación de su póliza",
                    "text": "Adjuntamos la documentación de su póliza.",
                    "html": "<p>Adjuntamos la documentación de su póliza.</p>",
                    "attachments": [
                        {
                            "filename": "poliza.pdf",
                            "content_type": "application/pdf",
                            "content_base64": "JVBERi0xLjQK",
                        }
                    ],
                }
            ]
        },
    )

    to: EmailStr
    subject: Subject
    text: EmailBody = Field(min_length=1)
    html: EmailBody | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class TemplateSend(BaseModel):
    """A template to a customer of the CRM on a channel (their preferred one when omitted)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "0b5c3a52-6a1e-4a52-9d8e-0d3a8f3b1c11",
                    "template": "welcome",
                    "channel": "email",
                    "variables": {},
                }
            ]
        },
    )

    customer_id: uuid.UUID
    template: str = Field(min_length=1, max_length=50)
    channel: Literal["whatsapp", "sms", "email"] | None = None
    language: Literal["es", "en"] | None = None
    variables: dict[str, str] = Field(default_factory=dict, max_length=30)

    @field_validator("variables")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if len(key) > 50 or len(item) > 2000 or "\x00" in item:
                raise ValueError("variables: names up to 50 and values up to 2000 characters, no NUL bytes")
        return value


class ReplyIn(BaseModel):
    """An agent's reply on the conversation's own channel (e-mail replies keep the thread)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"body": "Gracias, lo revisamos hoy."}]}
    )

    body: MessageBody
    subject: Subject | None = None
    media_urls: list[AnyHttpUrl] = Field(default_factory=list, max_length=10)


class OptOutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: str
    address: str
    keyword: str
    customer_id: uuid.UUID | None
    updated_at: datetime


class ConsoleDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    channel: str
    to_address: str
    from_address: str
    subject: str | None
    body: str
    provider_message_id: str
    payload: dict[str, Any]
    created_at: datetime
