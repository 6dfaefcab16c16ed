"""The latest churn risk per customer, from analytics' `customer.churn_scored` events."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from quote_engine.core.base import Base


class CustomerChurn(Base):
    __tablename__ = "customer_churn"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False)
    band: Mapped[str] = mapped_column(String(10), nullable=False)
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
