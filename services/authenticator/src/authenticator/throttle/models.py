"""Failed sign-in counters, and fixed-window counters for the flows that send e-mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from authenticator.core.base import Base, ts_column


class LoginThrottle(Base):
    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_last_failure_at", "last_failure_at"),)

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    first_failure_at: Mapped[datetime] = ts_column(nullable=False)
    last_failure_at: Mapped[datetime] = ts_column(nullable=False)
    next_allowed_at: Mapped[datetime | None] = ts_column()
    locked_until: Mapped[datetime | None] = ts_column()


class RateLimit(Base):
    """Requests counted per key (a client address, or a digest of an e-mail address) per window."""

    __tablename__ = "rate_limits"
    __table_args__ = (Index("ix_rate_limits_window_started_at", "window_started_at"),)

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_started_at: Mapped[datetime] = ts_column(nullable=False)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
