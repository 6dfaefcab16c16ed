"""The latest churn risk per customer (from analytics' customer.churn_scored).

Revision ID: 0005_churn
Revises: 0004_scraper
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_churn"
down_revision: str | None = "0004_scraper"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_churn",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("probability", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_churn")),
        schema="quotes",
    )


def downgrade() -> None:
    op.drop_table("customer_churn", schema="quotes")
