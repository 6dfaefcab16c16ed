"""An agent's availability for the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from omnichannel.core.base import Base, created_column, ts_column

PRESENCE = ("online", "away", "offline")


class Agent(Base):
    """A staff member who takes conversations: online or not, and how many at once."""

    __tablename__ = "agents"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="offline")
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    last_assigned_at: Mapped[datetime | None] = ts_column()
    # Telephony's skills for the same person (agent.skills_changed): {"claims": 3, "es": 5}; none = any work.
    skills: Mapped[dict[str, int]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default=text("'{}'::jsonb")
    )
    skills_changed_at: Mapped[datetime | None] = ts_column()
    updated_at: Mapped[datetime] = created_column()
