"""Claims, their transition history, notes and documents."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aintech_contracts.statuses import ClaimStatus
from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk, version_column

OPEN_STATUSES = (ClaimStatus.reported, ClaimStatus.investigating)

# The state machine: every legal move (anything else answers 409).
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.reported: frozenset({ClaimStatus.investigating}),
    ClaimStatus.investigating: frozenset({ClaimStatus.approved, ClaimStatus.denied}),
    ClaimStatus.approved: frozenset({ClaimStatus.paid}),
    ClaimStatus.denied: frozenset(),
    ClaimStatus.paid: frozenset(),
}


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint(check_in("status", ClaimStatus), name="status"),
        CheckConstraint("claimed_amount IS NULL OR claimed_amount >= 0", name="claimed_non_negative"),
        CheckConstraint("approved_amount IS NULL OR approved_amount >= 0", name="approved_non_negative"),
        CheckConstraint("paid_amount IS NULL OR paid_amount >= 0", name="paid_non_negative"),
        CheckConstraint("status NOT IN ('approved', 'paid') OR approved_amount IS NOT NULL", name="approved"),
        CheckConstraint("status <> 'denied' OR denial_reason IS NOT NULL", name="denied"),
        Index("ix_claims_customer", "customer_id"),
        Index("ix_claims_policy", "policy_id"),
        Index("ix_claims_status", "status"),
        Index("ix_claims_adjuster_status", "adjuster_id", "status"),
        Index("ix_claims_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT"), nullable=False
    )
    policy_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="RESTRICT"), nullable=False
    )
    claim_number: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    claim_type: Mapped[str] = mapped_column(String(50), nullable=False)
    incident_date: Mapped[datetime] = ts_column(nullable=False)
    reported_date: Mapped[datetime] = created_column()
    description: Mapped[str] = mapped_column(Text, nullable=False)
    location: Mapped[str | None] = mapped_column(String(255))
    claimed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    approved_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="reported")
    denial_reason: Mapped[str | None] = mapped_column(String(500))
    adjuster_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
    resolved_at: Mapped[datetime | None] = ts_column()
    paid_at: Mapped[datetime | None] = ts_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class ClaimHistory(Base):
    """Every status change and assignment of a claim, who made it and why."""

    __tablename__ = "claim_history"
    __table_args__ = (Index("ix_claim_history_claim", "claim_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    claim_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.claims.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    occurred_at: Mapped[datetime] = created_column()


class ClaimNote(Base):
    __tablename__ = "claim_notes"
    __table_args__ = (Index("ix_claim_notes_claim", "claim_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    claim_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.claims.id", ondelete="CASCADE"), nullable=False
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = created_column()


class ClaimDocument(Base):
    """A file of a claim: uploaded (bytes in the object store under ``object_key``, with their
    SHA-256 and size) or, for documents recorded before uploads existed, an external URL."""

    __tablename__ = "claim_documents"
    __table_args__ = (
        Index("ix_claim_documents_claim", "claim_id", "uploaded_at"),
        CheckConstraint(
            "(object_key IS NOT NULL AND sha256 IS NOT NULL AND size IS NOT NULL) OR url IS NOT NULL",
            name="stored_or_linked",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    claim_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.claims.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    url: Mapped[str | None] = mapped_column(String(500))
    object_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(100))
    document_type: Mapped[str | None] = mapped_column(String(50))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    uploaded_at: Mapped[datetime] = created_column()
