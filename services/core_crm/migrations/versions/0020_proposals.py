"""Policy proposals: a parsed carrier document matched against the CRM's policies.

Revision ID: 0020_proposals
Revises: 0011_fraudgaps_fraud
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0020_proposals"
down_revision: str | None = "0011_fraudgaps_fraud"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_proposals",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("job_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("carrier", sa.String(100), nullable=False),
        sa.Column("carrier_name", sa.String(100), nullable=False),
        sa.Column("policy_number", sa.String(100), nullable=False),
        sa.Column("policy_id", UUID(as_uuid=True), sa.ForeignKey("crm.policies.id", ondelete="SET NULL")),
        sa.Column(
            "customer_id", UUID(as_uuid=True), sa.ForeignKey("crm.customers.id", ondelete="SET NULL")
        ),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("unreadable", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("fields", JSONB, nullable=False),
        sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", UUID(as_uuid=True)),
        sa.Column("rejection_reason", sa.String(500)),
        sa.Column("applied", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('create', 'reconcile')", name="kind"),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name="status"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        sa.UniqueConstraint("event_id", name="uq_policy_proposals_event_id"),
        schema="crm",
    )
    op.create_index("ix_policy_proposals_created", "policy_proposals", ["created_at", "id"], schema="crm")
    op.create_index(
        "ix_policy_proposals_status_created",
        "policy_proposals",
        ["status", "created_at", "id"],
        schema="crm",
    )


def downgrade() -> None:
    op.drop_table("policy_proposals", schema="crm")
