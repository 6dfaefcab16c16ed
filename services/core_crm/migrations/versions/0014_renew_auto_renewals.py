"""Automatic renewal: the policy's `auto_renew` flag and one `auto_renewals` row per policy and term.

The row is written with the pricing request sent to the quote engine (unique per policy and term,
so a restarted worker never asks twice) and follows the renewal: requested -> priced -> renewed,
or -> task (a rise above the threshold or no price) or withdrawn.

Revision ID: 0014_renew
Revises: 0020_proposals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0014_renew"
down_revision: str | None = "0020_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "policies",
        sa.Column("auto_renew", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="crm",
    )
    op.create_table(
        "auto_renewals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("term_number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("previous_annual_premium", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("new_annual_premium", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("rise_percent", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("offer", JSONB(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'priced', 'renewed', 'task', 'withdrawn')",
            name=op.f("ck_auto_renewals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["crm.policies.id"], name=op.f("fk_auto_renewals_policy_id_policies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["crm.tasks.id"], name=op.f("fk_auto_renewals_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_renewals")),
        sa.UniqueConstraint("policy_id", "term_number", name="uq_auto_renewals_policy_term"),
        sa.UniqueConstraint("request_id", name=op.f("uq_auto_renewals_request_id")),
        schema="crm",
    )
    op.create_index(
        "ix_auto_renewals_status_due", "auto_renewals", ["status", "due_date"], unique=False, schema="crm"
    )


def downgrade() -> None:
    op.drop_index("ix_auto_renewals_status_due", table_name="auto_renewals", schema="crm")
    op.drop_table("auto_renewals", schema="crm")
    op.drop_column("policies", "auto_renew", schema="crm")
