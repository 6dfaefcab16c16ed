"""Quotes prepared for customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, now_column, ts_column, uuid_pk, version_column
from core_crm.policies.models import PolicyType


class QuoteStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    accepted = "accepted"
    rejected = "rejected"
    expired = "expired"
    converted = "converted"


OPEN_QUOTE_STATUSES = (QuoteStatus.draft, QuoteStatus.sent, QuoteStatus.accepted)

QUOTE_TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    # A draft is accepted only once it has been sent; staff may still reject (withdraw) a draft.
    QuoteStatus.draft: frozenset({QuoteStatus.sent, QuoteStatus.rejected, QuoteStatus.expired}),
    QuoteStatus.sent: frozenset({QuoteStatus.accepted, QuoteStatus.rejected, QuoteStatus.expired}),
    QuoteStatus.accepted: frozenset({QuoteStatus.converted, QuoteStatus.expired}),
    QuoteStatus.rejected: frozenset(),
    QuoteStatus.expired: frozenset(),
    QuoteStatus.converted: frozenset(),
}


class Quote(Base):
    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint(check_in("quote_type", PolicyType), name="quote_type"),
        CheckConstraint(check_in("status", QuoteStatus), name="status"),
        CheckConstraint("base_premium > 0", name="base_positive"),
        CheckConstraint("total_premium >= 0", name="total_non_negative"),
        CheckConstraint("converted = (policy_id IS NOT NULL)", name="converted_policy"),
        CheckConstraint("converted = (status = 'converted')", name="converted_status"),
        Index("ix_quotes_customer", "customer_id"),
        Index("ix_quotes_status", "status"),
        Index("ix_quotes_status_valid_until", "status", "valid_until"),
        Index("ix_quotes_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT"), nullable=False
    )
    quote_number: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    quote_type: Mapped[str] = mapped_column(String(20), nullable=False)
    coverage_details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    base_premium: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb"), default=list
    )
    surcharges: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb"), default=list
    )
    total_premium: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    carrier_quotes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb"), default=list
    )
    selected_carrier: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="draft")
    valid_until: Mapped[datetime | None] = ts_column()
    converted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="RESTRICT"), unique=True
    )
    converted_at: Mapped[datetime | None] = ts_column()
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
