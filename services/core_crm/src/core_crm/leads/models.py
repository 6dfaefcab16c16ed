"""Every lead received, with the digest of its signature (a replay is refused by it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, created_column, uuid_pk


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_customer", "customer_id"),
        Index("ix_leads_source", "source", "received_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(String(50), nullable=False)
    campaign: Mapped[str | None] = mapped_column(String(100))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    )
    matched: Mapped[bool] = mapped_column(Boolean, nullable=False)
    matched_by: Mapped[str | None] = mapped_column(String(10))
    signature_digest: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = created_column()


class LeadScore(Base):
    """A customer's current lead score and its reasons (recomputed on every relevant event)."""

    __tablename__ = "lead_scores"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        Index("ix_lead_scores_rank", "score", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = created_column()
