"""Policy proposals: what a parsed carrier document says, against what the CRM has."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk, version_column


class ProposalKind(StrEnum):
    create = "create"
    reconcile = "reconcile"
    missing = "missing"  # the carrier's portfolio no longer lists a policy the CRM has with it


class ProposalSource(StrEnum):
    document = "document"  # `policy.document_parsed`: a policy PDF
    portfolio = "portfolio"  # `policy.portfolio_listed` / `portfolio.synced`: a portfolio sync


class ProposalStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class PolicyProposal(Base):
    """One proposal per `policy.document_parsed` or `policy.portfolio_listed` event (unique on the
    event id); a `portfolio.synced` event makes one `missing` proposal per policy no longer listed
    (event id + policy id)."""

    __tablename__ = "policy_proposals"
    __table_args__ = (
        CheckConstraint(check_in("kind", ProposalKind), name="kind"),
        CheckConstraint(check_in("status", ProposalStatus), name="status"),
        CheckConstraint(check_in("source", ProposalSource), name="source"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        Index("ix_policy_proposals_created", "created_at", "id"),
        Index("ix_policy_proposals_status_created", "status", "created_at", "id"),
        Index("ix_policy_proposals_carrier_number", "carrier", "policy_number", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False, server_default="document")
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    carrier_name: Mapped[str] = mapped_column(String(100), nullable=False)
    policy_number: Mapped[str] = mapped_column(String(100), nullable=False)
    # reconcile: the matched policy; create: the policy made on acceptance.
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="SET NULL")
    )
    # The holder: the matched policy's customer, or the customer whose DNI/NIE the document names.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="SET NULL")
    )
    # Everything read: {field: {value, confidence, ...}}, and the fields that could not be read.
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    unreadable: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    # [{field, old, new, confidence, flagged, reason}] — for create, old is always null.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    parsed_at: Mapped[datetime] = ts_column(nullable=False)
    decided_at: Mapped[datetime | None] = ts_column()
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    applied: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
