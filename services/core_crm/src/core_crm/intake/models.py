"""Unmatched contacts: an `interaction.logged` that named no known customer, kept for the agents."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk
from core_crm.interactions.models import Direction, InteractionSource, InteractionType


class IntakeStatus(StrEnum):
    open = "open"  # waiting for a customer (an agent's link, or one created with its phone/e-mail)
    linked = "linked"  # on a customer's timeline (interaction_id)
    dismissed = "dismissed"  # not a customer's contact (spam, wrong number); its content is deleted


class UnmatchedInteraction(Base):
    __tablename__ = "unmatched_interactions"
    __table_args__ = (
        CheckConstraint(check_in("status", IntakeStatus), name="status"),
        CheckConstraint(check_in("source", [s for s in InteractionSource if s != "crm"]), name="source"),
        CheckConstraint(check_in("type", InteractionType), name="type"),
        CheckConstraint(f"direction IS NULL OR {check_in('direction', Direction)}", name="direction"),
        CheckConstraint(
            "(status = 'linked') = (interaction_id IS NOT NULL AND customer_id IS NOT NULL)", name="linked"
        ),
        UniqueConstraint("source", "external_id", name="uq_unmatched_interactions_external_id"),
        Index("ix_unmatched_interactions_status", "status", text("received_at DESC"), text("id DESC")),
        Index("ix_unmatched_interactions_open_phone", "phone", postgresql_where=text("status = 'open'")),
        Index(
            "ix_unmatched_interactions_open_email",
            text("lower(email)"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    external_id: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    direction: Mapped[str | None] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = ts_column(nullable=False)
    # What the publisher knew of the person: a customer id it had (now unknown or closed), the
    # phone (E.164 when it was a valid number) and the e-mail address.
    customer_hint: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject: Mapped[str | None] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(100))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="open")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT")
    )
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.interactions.id", ondelete="RESTRICT"), unique=True
    )
    # Who linked or dismissed it (None: linked automatically when a customer got its phone/e-mail).
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None] = ts_column()
    dismiss_reason: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = created_column()
