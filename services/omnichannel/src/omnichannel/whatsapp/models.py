"""WhatsApp templates approved by Meta (Twilio Content API), one per purpose and language."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from omnichannel.core.base import Base, created_column, utcnow, uuid_pk

# Approval states as Twilio's Content API reports them for WhatsApp.
TEMPLATE_STATUSES = ("pending", "approved", "rejected", "paused", "disabled")


class WhatsAppTemplate(Base):
    """What a business-initiated WhatsApp of ``purpose`` in ``language`` is sent as: a content SID
    and the platform variables that fill its numbered placeholders ``{{1}}``, ``{{2}}``, ... in order."""

    __tablename__ = "whatsapp_templates"
    __table_args__ = (UniqueConstraint("purpose", "language", name="uq_whatsapp_templates_purpose_language"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    purpose: Mapped[str] = mapped_column(String(50), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False)
    content_sid: Mapped[str] = mapped_column(String(34), nullable=False, index=True)
    variables: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), nullable=False, default=list, server_default=text("'{}'")
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="approved")
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow, onupdate=utcnow
    )
