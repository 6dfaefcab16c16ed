"""Inbound leads, each with the digest of its signature (replays refused).

Revision ID: 0012_trail
Revises: 0011_trail
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012_trail"
down_revision: str | None = "0011_trail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("matched_by", sa.String(length=10), nullable=True),
        sa.Column("signature_digest", sa.String(length=64), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["crm.customers.id"], name=op.f("fk_leads_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("signature_digest", name=op.f("uq_leads_signature_digest")),
        schema="crm",
    )
    op.create_index("ix_leads_customer", "leads", ["customer_id"], unique=False, schema="crm")
    op.create_index("ix_leads_source", "leads", ["source", "received_at"], unique=False, schema="crm")


def downgrade() -> None:
    op.drop_table("leads", schema="crm")
