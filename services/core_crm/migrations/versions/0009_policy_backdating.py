"""Backdated cover: why a policy's cover starts before the grace period, and who accepted it.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("policies", sa.Column("backdating_reason", sa.String(500)), schema="crm")
    op.add_column("policies", sa.Column("backdated_by", UUID(as_uuid=True)), schema="crm")


def downgrade() -> None:
    op.drop_column("policies", "backdated_by", schema="crm")
    op.drop_column("policies", "backdating_reason", schema="crm")
