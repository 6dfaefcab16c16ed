"""Customers (people and companies) and the audit trail of what was done to them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, now_column, ts_column, uuid_pk, version_column


class CustomerStatus(StrEnum):
    prospect = "prospect"
    active = "active"
    inactive = "inactive"
    merged = "merged"  # folded into another customer (merged_into)
    erased = "erased"  # anonymised under GDPR art. 17
    deleted = "deleted"


class CustomerType(StrEnum):
    individual = "individual"
    business = "business"


class Segment(StrEnum):
    prospect = "prospect"
    new = "new"
    standard = "standard"
    premium = "premium"
    vip = "vip"
    at_risk = "at_risk"


class ContactChannel(StrEnum):
    call = "call"
    email = "email"
    sms = "sms"
    whatsapp = "whatsapp"
    chat = "chat"


# Statuses whose records are gone from the working set (lists, search, unique e-mail/DNI).
CLOSED_STATUSES = (CustomerStatus.merged, CustomerStatus.erased, CustomerStatus.deleted)
LIVE_WHERE = "status NOT IN ('merged', 'erased', 'deleted')"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(check_in("status", CustomerStatus), name="status"),
        CheckConstraint(check_in("customer_type", CustomerType), name="customer_type"),
        CheckConstraint(f"segment IS NULL OR {check_in('segment', Segment)}", name="segment"),
        CheckConstraint(
            f"preferred_channel IS NULL OR {check_in('preferred_channel', ContactChannel)}",
            name="preferred_channel",
        ),
        CheckConstraint(
            "email IS NULL OR email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'", name="email"
        ),
        CheckConstraint("merged_into IS NULL OR status = 'merged'", name="merged_into"),
        # Unique among live customers; named uq_<table>_<field> so a race answered by the shared
        # integrity handler names the field (the e-mail key is an expression).
        Index("uq_customers_email", text("lower(email)"), unique=True, postgresql_where=text(LIVE_WHERE)),
        Index("uq_customers_dni", "dni", unique=True, postgresql_where=text(LIVE_WHERE)),
        Index("uq_customers_user_id", "user_id", unique=True),
        Index("ix_customers_phone", "phone"),
        Index("ix_customers_mobile", "mobile"),
        Index("ix_customers_tax_id", "tax_id"),
        Index("ix_customers_status", "status"),
        Index("ix_customers_segment", "segment"),
        Index("ix_customers_province", "province"),
        Index("ix_customers_created", "created_at", "id"),
        Index("ix_customers_last_name", "last_name", "id"),
        Index("ix_customers_tags", "tags", postgresql_using="gin"),
        Index("ix_customers_owner", "owner_id"),
        # Name search (substring, any position): trigram GIN. Created by migration 0002, which
        # falls back to a plain index when the server lacks pg_trgm.
        Index(
            "ix_customers_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "extensions.gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_type: Mapped[str] = mapped_column(String(20), nullable=False, server_default="individual")
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    mobile: Mapped[str | None] = mapped_column(String(20))
    dni: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    address_line1: Mapped[str | None] = mapped_column(String(255))
    address_line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2), nullable=False, server_default="ES")
    company_name: Mapped[str | None] = mapped_column(String(255))
    tax_id: Mapped[str | None] = mapped_column(String(50))
    iban: Mapped[str | None] = mapped_column(String(42))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="active")
    segment: Mapped[str | None] = mapped_column(String(50))
    lead_source: Mapped[str | None] = mapped_column(String(100))
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    preferred_language: Mapped[str] = mapped_column(String(5), nullable=False, server_default="es")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), nullable=False, server_default=text("'{}'"), default=list
    )
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    # Folded (lower-case, accent-free) names for search; kept by the service on every write.
    search_text: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    customer_since: Mapped[date] = mapped_column(Date, nullable=False, server_default=text("CURRENT_DATE"))
    merged_into: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT")
    )
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    deleted_at: Mapped[datetime | None] = ts_column()
    erased_at: Mapped[datetime | None] = ts_column()


class CustomerAudit(Base):
    """Append-only trail of merges, erasures, deletions, exports and account links."""

    __tablename__ = "customer_audit"
    __table_args__ = (Index("ix_customer_audit_customer", "customer_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    occurred_at: Mapped[datetime] = now_column()


class ContactChange(Base):
    """A customer's own change of phone, mobile or e-mail, waiting for the code sent to the new one.

    Only a hash of the code is kept; a change is applied once, burns after
    ``CONTACT_CODE_MAX_ATTEMPTS`` wrong codes, and expires."""

    __tablename__ = "contact_changes"
    __table_args__ = (
        Index("ix_contact_changes_customer", "customer_id", "requested_at"),
        CheckConstraint(check_in("field", ("phone", "mobile", "email")), name="field"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    )
    field: Mapped[str] = mapped_column(String(10), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"), nullable=False)
    requested_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    confirmed_at: Mapped[datetime | None] = ts_column()
