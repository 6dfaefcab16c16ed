"""Contacts with customers, whichever channel and whoever logged them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk


class InteractionType(StrEnum):
    call = "call"
    email = "email"
    sms = "sms"
    whatsapp = "whatsapp"
    meeting = "meeting"
    chat = "chat"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class InteractionSource(StrEnum):
    crm = "crm"
    telephony = "telephony"
    omnichannel = "omnichannel"


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(check_in("type", InteractionType), name="type"),
        CheckConstraint(f"direction IS NULL OR {check_in('direction', Direction)}", name="direction"),
        CheckConstraint(check_in("source", InteractionSource), name="source"),
        CheckConstraint("duration IS NULL OR duration >= 0", name="duration"),
        Index("ix_interactions_timeline", "customer_id", text("occurred_at DESC"), text("id DESC")),
        Index("ix_interactions_agent", "agent_id", "occurred_at"),
        Index("ix_interactions_type", "type"),
        Index("ix_interactions_created", "created_at"),
        Index(
            "uq_interactions_source_external",
            "source",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT"), nullable=False
    )
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    direction: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(100))
    duration: Mapped[int | None] = mapped_column(Integer)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    call_sid: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), nullable=False, server_default="crm")
    external_id: Mapped[str | None] = mapped_column(String(100))
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="SET NULL")
    )
    claim_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.claims.id", ondelete="SET NULL")
    )
    quote_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.quotes.id", ondelete="SET NULL")
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    attributes: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), nullable=False, server_default=text("'{}'"), default=list
    )
    occurred_at: Mapped[datetime] = created_column()
    created_at: Mapped[datetime] = created_column()
    scheduled_at: Mapped[datetime | None] = ts_column()
