"""Stored calculations and comparisons, each with the tariff versions it was priced under."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from quote_engine.core.base import Base, check_in, now_column, uuid_pk

KINDS = ("calculation", "comparison")


class Calculation(Base):
    __tablename__ = "calculations"
    __table_args__ = (
        CheckConstraint(check_in("kind", KINDS), name="kind"),
        Index("ix_calculations_created", "created_at"),
        Index("ix_calculations_product_created", "product_code", "created_at"),
        Index("ix_calculations_customer", "customer_id"),
        Index("ix_calculations_crm_request", "crm_request_id", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    line: Mapped[str] = mapped_column(String(20), nullable=False)
    product_code: Mapped[str | None] = mapped_column(String(64))
    tariff_version_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    priced_on: Mapped[date] = mapped_column(Date, nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    total: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    crm_request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = now_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
