"""Customers' renewal confirmations (omnichannel's `renewal.confirmed`).

`renewal_confirmations` keeps one row per renewal reminder answered with CONFIRMAR (unique
`reminder_message_id`, the de-duplication key) with what the CRM did about it; the policy shows
whether its current term's renewal is confirmed (`renewal_confirmed_at`, `renewal_confirmed_via`,
cleared by the next renewal). Tasks get an index by policy (the renewal tasks of a policy are
closed when it is confirmed or renewed).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("policies", sa.Column("renewal_confirmed_at", sa.DateTime(timezone=True), nullable=True), schema="crm")
    op.add_column("policies", sa.Column("renewal_confirmed_via", sa.String(length=20), nullable=True), schema="crm")
    op.create_check_constraint(
        op.f("ck_policies_renewal_confirmed"),
        "policies",
        "(renewal_confirmed_at IS NULL) = (renewal_confirmed_via IS NULL)",
        schema="crm",
    )
    op.create_index("ix_tasks_policy", "tasks", ["policy_id"], unique=False, schema="crm")
    op.create_table(
        "renewal_confirmations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reminder_message_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("term_end_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('confirmed', 'already_renewed', 'not_renewable')",
            name=op.f("ck_renewal_confirmations_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["crm.customers.id"],
            name=op.f("fk_renewal_confirmations_customer_id_customers"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["crm.policies.id"],
            name=op.f("fk_renewal_confirmations_policy_id_policies"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["crm.tasks.id"], name=op.f("fk_renewal_confirmations_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_confirmations")),
        sa.UniqueConstraint("reminder_message_id", name=op.f("uq_renewal_confirmations_reminder_message_id")),
        schema="crm",
    )
    op.create_index(
        "ix_renewal_confirmations_policy", "renewal_confirmations", ["policy_id", "confirmed_at"], schema="crm"
    )


def downgrade() -> None:
    op.drop_index("ix_renewal_confirmations_policy", table_name="renewal_confirmations", schema="crm")
    op.drop_table("renewal_confirmations", schema="crm")
    op.drop_index("ix_tasks_policy", table_name="tasks", schema="crm")
    op.drop_constraint(op.f("ck_policies_renewal_confirmed"), "policies", schema="crm", type_="check")
    op.drop_column("policies", "renewal_confirmed_via", schema="crm")
    op.drop_column("policies", "renewal_confirmed_at", schema="crm")
