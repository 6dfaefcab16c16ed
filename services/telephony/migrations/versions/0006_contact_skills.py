"""Skills-based routing: agents' skills with levels, each waiting caller's required skills and
language, and when their routing was widened to any agent.

Revision ID: 0006_contact
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_contact"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agent_status",
        sa.Column("skills", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        schema="telephony",
    )
    op.add_column(
        "call_queue",
        sa.Column(
            "required_skills", postgresql.ARRAY(sa.String(length=20)), server_default=sa.text("'{}'"), nullable=False
        ),
        schema="telephony",
    )
    op.add_column(
        "call_queue",
        sa.Column("language", sa.String(length=2), server_default=sa.text("'es'"), nullable=False),
        schema="telephony",
    )
    op.add_column("call_queue", sa.Column("widened_at", sa.DateTime(timezone=True)), schema="telephony")
    op.create_index("ix_call_queue_enqueued", "call_queue", ["enqueued_at"], schema="telephony")


def downgrade() -> None:
    op.drop_index("ix_call_queue_enqueued", table_name="call_queue", schema="telephony")
    op.drop_column("call_queue", "widened_at", schema="telephony")
    op.drop_column("call_queue", "language", schema="telephony")
    op.drop_column("call_queue", "required_skills", schema="telephony")
    op.drop_column("agent_status", "skills", schema="telephony")
