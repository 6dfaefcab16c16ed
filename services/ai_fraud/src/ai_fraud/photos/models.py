"""The hashes of every claim photo (the near-duplicate index is built from this table)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ai_fraud.core.base import Base, now_column, uuid_pk


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (
        UniqueConstraint("claim_id", "sha256", name="uq_photos_claim_sha"),
        Index("ix_photos_claim", "claim_id"),
        Index("ix_photos_seq", "seq", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), nullable=False)
    claim_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    phash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    dhash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    exif: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = now_column()
