"""Idempotency keys of state-changing transitions (aintech_shared.idempotency).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from aintech_shared.migrations import create_idempotency_table, drop_idempotency_table

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table("crm")


def downgrade() -> None:
    drop_idempotency_table("crm")
