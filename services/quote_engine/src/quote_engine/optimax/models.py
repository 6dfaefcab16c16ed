"""OptiMax's read model: the customers' policies as the CRM's events describe them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Numeric, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from quote_engine.core.base import Base, now_column


class CustomerPolicy(Base):
    __tablename__ = "customer_policies"
    __table_args__ = (Index("ix_customer_policies_customer", "customer_id"),)

    policy_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    policy_number: Mapped[str] = mapped_column(String(100), nullable=False)
    policy_type: Mapped[str] = mapped_column(String(20), nullable=False)
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    annual_premium: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    coverage_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    coverage_end_date: Mapped[date] = mapped_column(Date, nullable=False)
    updated_at: Mapped[datetime] = now_column()
