"""Deliveries parked until the customer they are about is known here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from omnichannel.core.base import Base, ts_column, utcnow


class ParkedDelivery(Base):
    """A customer event (quote, policy, claim) that arrived before ``customer.created``: kept until
    the customer is known (then handled as if it had just arrived), or expired after the bounded
    wait (``status = 'expired'``: nothing was sent, visibly)."""

    __tablename__ = "parked_deliveries"
    __table_args__ = (
        Index("ix_parked_deliveries_waiting", "customer_id", postgresql_where=text("status = 'parked'")),
        Index("ix_parked_deliveries_status_parked_at", "status", "parked_at"),
    )

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    event: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="parked")
    parked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow
    )
    resolved_at: Mapped[datetime | None] = ts_column()
    detail: Mapped[str | None] = mapped_column(String(200))


class CrmEmailRequest(Base):
    """A ``crm.email_requested`` already queued: each ``request_id`` is delivered at most once, even
    when the CRM publishes the same request again under another event id."""

    __tablename__ = "crm_email_requests"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow
    )
