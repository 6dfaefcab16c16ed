"""Renewal confirmations received from customers (one per renewal reminder)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk


class ConfirmationOutcome(StrEnum):
    confirmed = "confirmed"  # the current term's renewal is confirmed; an agent issues it
    already_renewed = "already_renewed"  # the policy was renewed after the reminder: nothing to do
    not_renewable = "not_renewable"  # cancelled or not active yet: an agent calls the customer


class RenewalConfirmation(Base):
    """A customer's CONFIRMAR reply to a renewal reminder; ``reminder_message_id`` makes it once."""

    __tablename__ = "renewal_confirmations"
    __table_args__ = (
        CheckConstraint(check_in("outcome", ConfirmationOutcome), name="outcome"),
        Index("ix_renewal_confirmations_policy", "policy_id", "confirmed_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    reminder_message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    policy_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="RESTRICT"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    confirmed_at: Mapped[datetime] = ts_column(nullable=False)
    # The end of the term whose renewal was confirmed (None when the policy was not renewable).
    term_end_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    # The task the confirmation created (issue the renewal, or call the customer).
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.tasks.id", ondelete="SET NULL")
    )
    received_at: Mapped[datetime] = created_column()


class AutoRenewalStatus(StrEnum):
    requested = "requested"  # the quote engine was asked to price the next term
    priced = "priced"  # priced within the threshold: renews on its due date
    renewed = "renewed"  # the policy entered the new term
    task = "task"  # not renewed automatically (rise above the threshold, no price): an agent's task
    withdrawn = "withdrawn"  # renewed by hand, cancelled or taken off auto-renewal before the due date


class AutoRenewal(Base):
    """One automatic renewal of a policy's term: unique per (policy, term), so it is asked once."""

    __tablename__ = "auto_renewals"
    __table_args__ = (
        UniqueConstraint("policy_id", "term_number", name="uq_auto_renewals_policy_term"),
        CheckConstraint(check_in("status", AutoRenewalStatus), name="status"),
        Index("ix_auto_renewals_status_due", "status", "due_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    policy_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="CASCADE"), nullable=False
    )
    # The term being renewed (the policy's term_number when it was priced) and its end, the due date.
    term_number: Mapped[int] = mapped_column(Integer, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    # The `quote.pricing_requested` sent to the quote engine (its answer names it).
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    previous_annual_premium: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    new_annual_premium: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    rise_percent: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    # The engine offer the new term is priced with (product, cover level, tariff version).
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.tasks.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
