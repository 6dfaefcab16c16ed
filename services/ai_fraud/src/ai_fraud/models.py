"""Tables of the `fraud` schema (imported here so Alembic sees the whole metadata)."""

from ai_fraud.core.base import MESSAGING, Base

__all__ = ["MESSAGING", "Base"]
