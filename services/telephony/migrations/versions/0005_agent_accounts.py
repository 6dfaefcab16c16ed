"""Agents whose account was disabled or whose role no longer handles calls (from auth.user events).

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("agent_status", sa.Column("disabled_at", sa.DateTime(timezone=True)), schema="telephony")
    op.add_column(
        "agent_status", sa.Column("role_withdrawn_at", sa.DateTime(timezone=True)), schema="telephony"
    )


def downgrade() -> None:
    op.drop_column("agent_status", "role_withdrawn_at", schema="telephony")
    op.drop_column("agent_status", "disabled_at", schema="telephony")
