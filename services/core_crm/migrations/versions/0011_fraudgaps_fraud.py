"""The latest fraud score of each claim (read model of ai-fraud's `fraud.scored`).

Revision ID: 0011_fraudgaps_fraud
Revises: 0010_fraudgaps_docs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0011_fraudgaps_fraud"
down_revision: str | None = "0010_fraudgaps_docs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_fraud_scores",
        sa.Column("claim_id", UUID(as_uuid=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(10), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.Integer()),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_claim_fraud_scores_score_range")),
        sa.CheckConstraint("band IN ('low', 'review', 'high')", name=op.f("ck_claim_fraud_scores_band")),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["crm.claims.id"],
            name=op.f("fk_claim_fraud_scores_claim_id_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_claim_fraud_scores")),
        schema="crm",
    )


def downgrade() -> None:
    op.drop_table("claim_fraud_scores", schema="crm")
