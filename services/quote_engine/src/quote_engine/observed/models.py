"""Observed carrier prices: one row per offer a carrier's portal showed for a risk."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, Numeric, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from quote_engine.core.base import Base, now_column


class ObservedPrice(Base):
    __tablename__ = "observed_prices"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_observed_prices_event"),
        Index("ix_observed_prices_quote", "quote_id"),
        Index("ix_observed_prices_risk", "postal_code", "observed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    carrier: Mapped[str] = mapped_column(String(40), nullable=False)
    carrier_name: Mapped[str] = mapped_column(String(100), nullable=False)
    product: Mapped[str | None] = mapped_column(String(200))
    premium: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    line: Mapped[str] = mapped_column(String(20), nullable=False)
    postal_code: Mapped[str] = mapped_column(String(5), nullable=False)
    driver_birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    quote_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    adapter_version: Mapped[str] = mapped_column(String(40), nullable=False)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = now_column()
