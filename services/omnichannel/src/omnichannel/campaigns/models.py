"""Campaigns and their recipients (one row each, so nothing is sent twice)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from omnichannel.core.base import Base, created_column, ts_column, uuid_pk

CAMPAIGN_STATUSES = ("draft", "running", "paused", "completed", "cancelled")
RECIPIENT_STATUSES = ("pending", "queued", "sent", "delivered", "failed", "skipped")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    template: Mapped[str] = mapped_column(String(50), nullable=False)
    segment: Mapped[str] = mapped_column(String(50), nullable=False)
    language: Mapped[str | None] = mapped_column(String(5))
    variables: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    rate_per_minute: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = created_column()
    started_at: Mapped[datetime | None] = ts_column()
    paused_at: Mapped[datetime | None] = ts_column()
    completed_at: Mapped[datetime | None] = ts_column()
    last_batch_at: Mapped[datetime | None] = ts_column()


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        PrimaryKeyConstraint("campaign_id", "customer_id"),
        Index("ix_campaign_recipients_status", "campaign_id", "status"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    address: Mapped[str] = mapped_column(String(320), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="es")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    detail: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = created_column()
