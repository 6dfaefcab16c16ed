"""The warm-transfer target's softphone leg, and lookups of calls by an agent's leg (the softphone
hanging up is reported for that leg).

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("transfer_call_sid", sa.String(length=64), nullable=True), schema="telephony")
    op.create_index(
        "ix_calls_agent_call_sid",
        "calls",
        ["agent_call_sid"],
        unique=False,
        schema="telephony",
        postgresql_where=sa.text("agent_call_sid IS NOT NULL"),
    )
    op.create_index(
        "ix_calls_transfer_call_sid",
        "calls",
        ["transfer_call_sid"],
        unique=False,
        schema="telephony",
        postgresql_where=sa.text("transfer_call_sid IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_transfer_call_sid", table_name="calls", schema="telephony")
    op.drop_index("ix_calls_agent_call_sid", table_name="calls", schema="telephony")
    op.drop_column("calls", "transfer_call_sid", schema="telephony")
