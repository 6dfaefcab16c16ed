"""Unmatched contacts: calls and messages (`interaction.logged`) that matched no customer.

Kept open until an agent links them to a customer or dismisses them, or until a customer gets
their phone or e-mail (then linked automatically); one row per source and external id.

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
    op.create_table(
        "unmatched_interactions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_hint", sa.UUID(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("agent_id", sa.UUID(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("recording_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("interaction_id", sa.UUID(), nullable=True),
        sa.Column("resolved_by", sa.UUID(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'linked', 'dismissed')", name=op.f("ck_unmatched_interactions_status")
        ),
        sa.CheckConstraint(
            "source IN ('telephony', 'omnichannel')", name=op.f("ck_unmatched_interactions_source")
        ),
        sa.CheckConstraint(
            "type IN ('call', 'email', 'sms', 'whatsapp', 'meeting', 'chat')",
            name=op.f("ck_unmatched_interactions_type"),
        ),
        sa.CheckConstraint(
            "direction IS NULL OR direction IN ('inbound', 'outbound')",
            name=op.f("ck_unmatched_interactions_direction"),
        ),
        sa.CheckConstraint(
            "(status = 'linked') = (interaction_id IS NOT NULL AND customer_id IS NOT NULL)",
            name=op.f("ck_unmatched_interactions_linked"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["crm.customers.id"],
            name=op.f("fk_unmatched_interactions_customer_id_customers"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"], ["crm.interactions.id"],
            name=op.f("fk_unmatched_interactions_interaction_id_interactions"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmatched_interactions")),
        sa.UniqueConstraint("source", "external_id", name="uq_unmatched_interactions_external_id"),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_unmatched_interactions_interaction_id")),
        schema="crm",
    )
    op.create_index(
        "ix_unmatched_interactions_status",
        "unmatched_interactions",
        ["status", sa.literal_column("received_at DESC"), sa.literal_column("id DESC")],
        schema="crm",
    )
    op.create_index(
        "ix_unmatched_interactions_open_phone",
        "unmatched_interactions",
        ["phone"],
        schema="crm",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_unmatched_interactions_open_email",
        "unmatched_interactions",
        [sa.literal_column("lower(email)")],
        schema="crm",
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("unmatched_interactions", schema="crm")
