"""Rings: connected groups of customers and claims over shared identifiers, with stable ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ai_fraud.core.base import Base, now_column


class Ring(Base):
    __tablename__ = "rings"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_ids: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    claim_ids: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = now_column()
