"""Proxies the workers may route carrier traffic through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from scraper.core.base import Base, RecordMixin, ts_column


class Proxy(RecordMixin, Base):
    __tablename__ = "proxies"
    __table_args__ = (
        CheckConstraint("scheme IN ('http', 'https')", name="scheme"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        UniqueConstraint("host", "port", name="uq_proxies_host_port"),
    )

    label: Mapped[str] = mapped_column(String(100), nullable=False)
    scheme: Mapped[str] = mapped_column(String(10), nullable=False)
    host: Mapped[str] = mapped_column(String(253), nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False)
    username_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    password_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"), default=True)
    healthy: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"), default=True)
    cooldown_until: Mapped[datetime | None] = ts_column()
    last_used_at: Mapped[datetime | None] = ts_column()
    last_checked_at: Mapped[datetime | None] = ts_column()
    bans: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
