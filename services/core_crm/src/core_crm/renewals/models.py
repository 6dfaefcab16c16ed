"""Renewal confirmations received from customers (one per renewal reminder)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import UUID
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
