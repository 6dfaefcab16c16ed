"""Conversations and their private notes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aintech_contracts.statuses import ACTIVE_CONVERSATION_STATUSES, ConversationStatus
from omnichannel.core.base import Base, created_column, ts_column, utcnow, uuid_pk

CHANNELS = ("whatsapp", "sms", "email", "chat")
STATUSES = tuple(ConversationStatus)
# contact: a thread with a customer (or an unknown sender); account: the platform's account mails to
# an address (verification, reset, sign-in alerts, e-mail change, codes), which nobody lists.
KINDS = ("contact", "account")
# Conversations an agent is working on count against their capacity.
ACTIVE_STATUSES = ACTIVE_CONVERSATION_STATUSES


class Conversation(Base):
    """One thread per contact address and channel, found or created, resolved and reopened; account
    mails to the same address live in a thread of their own (``kind = 'account'``)."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "address", "kind", name="uq_conversations_channel_address_kind"),
        Index("ix_conversations_inbox", "status", "last_message_at"),
        Index(
            "ix_conversations_queue",
            "created_at",
            postgresql_where=text("assignee_id IS NULL AND status IN ('open', 'pending')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    address: Mapped[str] = mapped_column(String(320), nullable=False)
    kind: Mapped[str] = mapped_column(
        String(10), nullable=False, default="contact", server_default=text("'contact'")
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    customer_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=ConversationStatus.open)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    snoozed_until: Mapped[datetime | None] = ts_column()
    labels: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), nullable=False, default=list, server_default=text("'{}'")
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default=text("0"))
    last_message_at: Mapped[datetime | None] = ts_column()
    last_message_preview: Mapped[str | None] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None] = ts_column()
    # What the thread is about (claims, renewals, sales), from the last automated message sent in it:
    # the skill an agent needs to take it.
    topic: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow, onupdate=utcnow
    )
    resolved_at: Mapped[datetime | None] = ts_column()


class ConversationNote(Base):
    """A private note agents leave on a conversation (never sent to the customer)."""

    __tablename__ = "conversation_notes"

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_column()
