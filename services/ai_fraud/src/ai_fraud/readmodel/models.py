"""The local read model of the CRM's customers, policies and claims (from its events), and the
identifiers that link people and claims (for rings)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ai_fraud.core.base import Base, now_column, ts_column, uuid_pk


class FraudCustomer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    preferred_language: Mapped[str] = mapped_column(String(5), nullable=False, server_default="es")
    # The CRM's keyed digests of the DNI/NIE and IBAN (``aintech_contracts.identifiers``), never
    # the values; the last characters show a person which one it is.
    dni_digest: Mapped[str | None] = mapped_column(String(64))
    dni_last3: Mapped[str | None] = mapped_column(String(3))
    iban_digest: Mapped[str | None] = mapped_column(String(64))
    iban_last4: Mapped[str | None] = mapped_column(String(4))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    mobile: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(400))
    iban_changed_at: Mapped[datetime | None] = ts_column()
    address_changed_at: Mapped[datetime | None] = ts_column()
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    updated_at: Mapped[datetime] = now_column()


class FraudPolicy(Base):
    __tablename__ = "policies"
    __table_args__ = (Index("ix_policies_customer", "customer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    policy_number: Mapped[str] = mapped_column(String(100), nullable=False)
    policy_type: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    coverage_start_date: Mapped[date] = mapped_column(Date, nullable=False)
    coverage_end_date: Mapped[date] = mapped_column(Date, nullable=False)
    coverage_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    updated_at: Mapped[datetime] = now_column()


class FraudClaim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_customer_incident", "customer_id", "incident_date"),
        Index("ix_claims_policy", "policy_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    claim_number: Mapped[str] = mapped_column(String(100), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    policy_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    claim_type: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    incident_date: Mapped[datetime] = ts_column(nullable=False)
    reported_at: Mapped[datetime] = now_column()
    claimed_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    location: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    updated_at: Mapped[datetime] = now_column()


class Identifier(Base):
    """One identifier of a customer (DNI, phone, e-mail, IBAN, address) or of a claim (plate,
    workshop, lawyer, clinic), normalised, so two records sharing it are linked. A DNI or IBAN is
    its keyed digest (as the CRM's events carry it): equal for equal values, and nothing more."""

    __tablename__ = "identifiers"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "kind", "value", name="uq_identifiers_owner"),
        Index("ix_identifiers_value", "kind", "value"),
        Index("ix_identifiers_owner", "owner_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    owner_kind: Mapped[str] = mapped_column(String(10), nullable=False)  # customer | claim
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    value: Mapped[str] = mapped_column(String(400), nullable=False)
