"""Policies and the history of their terms."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aintech_contracts.statuses import PolicyStatus
from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk, version_column


class PolicyType(StrEnum):
    auto = "auto"
    home = "home"
    life = "life"
    health = "health"
    business = "business"


class PremiumFrequency(StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    semiannual = "semiannual"
    annual = "annual"


PAYMENTS_PER_YEAR = {"monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}


class Policy(Base):
    __tablename__ = "policies"
    __table_args__ = (
        CheckConstraint(check_in("policy_type", PolicyType), name="policy_type"),
        CheckConstraint(check_in("status", PolicyStatus), name="status"),
        CheckConstraint(check_in("premium_frequency", PremiumFrequency), name="premium_frequency"),
        CheckConstraint("coverage_end_date > coverage_start_date", name="term"),
        CheckConstraint("premium_amount > 0", name="premium_positive"),
        CheckConstraint("coverage_amount IS NULL OR coverage_amount >= 0", name="coverage_non_negative"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_at"),
        CheckConstraint(
            "(renewal_confirmed_at IS NULL) = (renewal_confirmed_via IS NULL)", name="renewal_confirmed"
        ),
        Index("ix_policies_customer", "customer_id"),
        Index("ix_policies_type", "policy_type"),
        Index("ix_policies_status", "status"),
        Index("ix_policies_dates", "coverage_start_date", "coverage_end_date"),
        Index("ix_policies_status_end", "status", "coverage_end_date"),
        Index("ix_policies_carrier", "carrier"),
        Index("ix_policies_vehicle_plate", "vehicle_plate"),
        Index("ix_policies_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT"), nullable=False
    )
    policy_number: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    policy_type: Mapped[str] = mapped_column(String(20), nullable=False)
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    coverage_start_date: Mapped[date] = mapped_column(Date, nullable=False)
    coverage_end_date: Mapped[date] = mapped_column(Date, nullable=False)
    premium_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    premium_frequency: Mapped[str] = mapped_column(String(20), nullable=False, server_default="annual")
    coverage_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    deductible: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="active")
    cancellation_reason: Mapped[str | None] = mapped_column(String(255))
    cancelled_at: Mapped[datetime | None] = ts_column()
    term_number: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # Type-specific data (vehicle, property, insured sum, plan, business activity), validated per type.
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    vehicle_plate: Mapped[str | None] = mapped_column(String(20))
    policy_document_url: Mapped[str | None] = mapped_column(String(500))
    certificate_url: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    # The term end for which policy.expiring_soon was published (once per policy per term).
    expiry_notified_for: Mapped[date | None] = mapped_column(Date)
    # The customer confirmed the current term's renewal (CONFIRMAR to the reminder), and where;
    # cleared when the policy is renewed.
    renewal_confirmed_at: Mapped[datetime | None] = ts_column()
    renewal_confirmed_via: Mapped[str | None] = mapped_column(String(20))
    # Renew automatically when the quote engine prices the next term within the allowed rise.
    auto_renew: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false"), default=False
    )
    # Cover that starts before the grace period: why, and the supervisor who accepted it.
    backdating_reason: Mapped[str | None] = mapped_column(String(500))
    backdated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    @property
    def annual_premium(self) -> Decimal:
        return self.premium_amount * PAYMENTS_PER_YEAR[self.premium_frequency]


class PolicyTerm(Base):
    """One term of a policy: the first at creation, one more per renewal (old terms are kept)."""

    __tablename__ = "policy_terms"
    __table_args__ = (
        UniqueConstraint("policy_id", "term_number", name="uq_policy_terms_policy_term"),
        CheckConstraint("end_date > start_date", name="term"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    policy_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="CASCADE"), nullable=False
    )
    term_number: Mapped[int] = mapped_column(Integer, nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    premium_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    premium_frequency: Mapped[str] = mapped_column(String(20), nullable=False)
    coverage_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = created_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
