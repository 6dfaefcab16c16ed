"""Carrier products, their versioned tariffs, and the receipt taxes (law, as rows)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from quote_engine.core.base import Base, check_in, now_column, ts_column, uuid_pk
from quote_engine.rating.tariff import LINES


class TariffStatus(StrEnum):
    draft = "draft"
    active = "active"
    retired = "retired"


class CarrierProduct(Base):
    """A carrier's product in one line (its cover levels and rules live in its tariff versions)."""

    __tablename__ = "carrier_products"
    __table_args__ = (CheckConstraint(check_in("line", LINES), name="line"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    carrier: Mapped[str] = mapped_column(String(200), nullable=False)
    line: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = now_column()


class TariffVersion(Base):
    """One effective-dated version of a product's tariff: the validated document, immutable once stored."""

    __tablename__ = "tariff_versions"
    __table_args__ = (
        UniqueConstraint("product_id", "version", name="uq_tariff_versions_product_version"),
        CheckConstraint(check_in("status", TariffStatus), name="status"),
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="validity"),
        Index("ix_tariff_versions_product_status", "product_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    product_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quotes.carrier_products.id", ondelete="RESTRICT"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="draft")
    effective_from: Mapped[date] = mapped_column(Date, nullable=False)
    effective_to: Mapped[date | None] = mapped_column(Date)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False, server_default="json")
    created_at: Mapped[datetime] = now_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    activated_at: Mapped[datetime | None] = ts_column()
    retired_at: Mapped[datetime | None] = ts_column()


class TariffGeneration(Base):
    """One row: a number that changes (from a sequence) whenever a product, tariff version or
    receipt tax does, by triggers (migration 0006): the cheap check of a process's cached tariffs."""

    __tablename__ = "tariff_generation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReceiptTaxRow(Base):
    """A tax or legal surcharge of the Spanish receipt, valid over a period with its legal reference.

    A new DGSFP or Consorcio resolution is a new row (close the old one's ``valid_to``)."""

    __tablename__ = "receipt_taxes"
    __table_args__ = (
        UniqueConstraint("code", "valid_from", name="uq_receipt_taxes_code_from"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    amounts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    capital_field: Mapped[str | None] = mapped_column(String(64))
    lines: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    exempt_lines: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)
    legal_reference: Mapped[str] = mapped_column(String(500), nullable=False)
