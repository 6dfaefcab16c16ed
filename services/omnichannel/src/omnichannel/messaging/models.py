"""One message model for WhatsApp, SMS, e-mail and chat, with attachments, opt-outs and counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from omnichannel.core.base import Base, created_column, ts_column, utcnow, uuid_pk

DIRECTIONS = ("inbound", "outbound")
KINDS = ("message", "agent_joined", "closed", "reopened")
# Delivery states in the order they happen; a late callback never moves a message backwards.
STATUS_RANK = {
    "received": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "opened": 4,
    "read": 4,
    "failed": 9,
    "undelivered": 9,
    "bounced": 9,
}
FINAL_FAILURES = ("failed", "undelivered", "bounced")


class Message(Base):
    """A message (or a chat event) in a conversation, inbound or outbound, on any channel."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        Index(
            "uq_messages_provider_id",
            "provider",
            "provider_message_id",
            unique=True,
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
        Index(
            "uq_messages_client_id",
            "conversation_id",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index("ix_messages_dispatch", "next_attempt_at", postgresql_where=text("status = 'queued'")),
        Index("ix_messages_email_message_id", "email_message_id"),
        Index("ix_messages_campaign", "campaign_id", postgresql_where=text("campaign_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="message")
    sender_type: Mapped[str] = mapped_column(String(10), nullable=False)
    sender_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    from_address: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    to_address: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    html: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, default=list, server_default=text("'[]'::jsonb")
    )
    template: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str | None] = mapped_column(String(5))
    context: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default=text("'{}'::jsonb")
    )
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    email_message_id: Mapped[str | None] = mapped_column(String(255))
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    client_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = ts_column()
    claimed_at: Mapped[datetime | None] = ts_column()
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_column()
    sent_at: Mapped[datetime | None] = ts_column()
    delivered_at: Mapped[datetime | None] = ts_column()
    read_at: Mapped[datetime | None] = ts_column()
    status_updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow
    )


class SealedContent(Base):
    """The unredacted text of a message that carries a secret (a reset or verification link, a
    code): kept only until the provider took the message or it failed for good. The message row
    itself, which agents, customers and the CRM timeline can list, holds the redacted text."""

    __tablename__ = "sealed_contents"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str] = mapped_column(Text, nullable=False)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()


class Attachment(Base):
    """A file sent with or received in an e-mail (kept for sending and for agents to download)."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = uuid_pk()
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class ProviderEvent(Base):
    """A provider callback already applied (de-duplication of retried webhooks by event id)."""

    __tablename__ = "provider_events"
    __table_args__ = (PrimaryKeyConstraint("provider", "event_id"),)

    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str | None] = mapped_column(String(30))
    received_at: Mapped[datetime] = created_column()


class OptOut(Base):
    """Consent per channel and address: STOP/BAJA/unsubscribe opt out, START/ALTA opt back in."""

    __tablename__ = "opt_outs"
    __table_args__ = (PrimaryKeyConstraint("channel", "address"),)

    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    address: Mapped[str] = mapped_column(String(320), nullable=False)
    opted_out: Mapped[bool] = mapped_column(nullable=False, default=True)
    keyword: Mapped[str] = mapped_column(String(50), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = created_column()


class RateCounter(Base):
    """A fixed-window counter shared by every replica (sends per user, per recipient)."""

    __tablename__ = "rate_counters"
    __table_args__ = (PrimaryKeyConstraint("key", "window_start"),)

    key: Mapped[str] = mapped_column(String(400), nullable=False)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class RenewalConfirmation(Base):
    """A CONFIRMAR reply matched to the renewal reminder it answers (one per reminder)."""

    __tablename__ = "renewal_confirmations"

    reminder_message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    policy_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    reply_message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    confirmed_at: Mapped[datetime] = created_column()
