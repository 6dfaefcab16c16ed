"""OptiMax's read model of the customers' policies (from the CRM's policy events).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_policies",
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("policy_number", sa.String(length=100), nullable=False),
        sa.Column("policy_type", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("annual_premium", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("coverage_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("coverage_end_date", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", name=op.f("pk_customer_policies")),
        schema="quotes",
    )
    op.create_index("ix_customer_policies_customer", "customer_policies", ["customer_id"], schema="quotes")


def downgrade() -> None:
    op.drop_index("ix_customer_policies_customer", table_name="customer_policies", schema="quotes")
    op.drop_table("customer_policies", schema="quotes")
