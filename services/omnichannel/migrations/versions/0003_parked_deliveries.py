"""Customer events parked until their customer is known.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_deliveries",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_parked_deliveries")),
        schema="omnichannel",
    )
    op.create_index(
        "ix_parked_deliveries_waiting",
        "parked_deliveries",
        ["customer_id"],
        unique=False,
        schema="omnichannel",
        postgresql_where=sa.text("status = 'parked'"),
    )
    op.create_index(
        "ix_parked_deliveries_status_parked_at",
        "parked_deliveries",
        ["status", "parked_at"],
        unique=False,
        schema="omnichannel",
    )


def downgrade() -> None:
    op.drop_index("ix_parked_deliveries_status_parked_at", table_name="parked_deliveries", schema="omnichannel")
    op.drop_index("ix_parked_deliveries_waiting", table_name="parked_deliveries", schema="omnichannel")
    op.drop_table("parked_deliveries", schema="omnichannel")
