"""Lead scores (0-100) with their reasons.

Revision ID: 0013_trail
Revises: 0012_trail
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0013_trail"
down_revision: str | None = "0012_trail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_scores",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_lead_scores_score")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm.customers.id"],
            name=op.f("fk_lead_scores_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_lead_scores")),
        schema="crm",
    )
    op.create_index("ix_lead_scores_rank", "lead_scores", ["score", "customer_id"], unique=False, schema="crm")


def downgrade() -> None:
    op.drop_table("lead_scores", schema="crm")
