"""Idempotency keys of state-changing transitions (aintech_shared.idempotency).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from aintech_shared.migrations import create_idempotency_table, drop_idempotency_table

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table("crm")


def downgrade() -> None:
    drop_idempotency_table("crm")
