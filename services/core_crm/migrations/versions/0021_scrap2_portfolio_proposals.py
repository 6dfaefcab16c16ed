"""Policy proposals from carrier portfolio syncs: a `source` column and a `missing` kind.

Revision ID: 0021_scrap2
Revises: 0014_renew
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_scrap2"
down_revision: str | None = "0014_renew"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "policy_proposals",
        sa.Column("source", sa.String(20), nullable=False, server_default="document"),
        schema="crm",
    )
    op.create_check_constraint(
        "source", "policy_proposals", "source IN ('document', 'portfolio')", schema="crm"
    )
    op.drop_constraint("kind", "policy_proposals", schema="crm", type_="check")
    op.create_check_constraint(
        "kind", "policy_proposals", "kind IN ('create', 'reconcile', 'missing')", schema="crm"
    )
    op.create_index(
        "ix_policy_proposals_carrier_number",
        "policy_proposals",
        ["carrier", "policy_number", "created_at"],
        schema="crm",
    )


def downgrade() -> None:
    op.drop_index("ix_policy_proposals_carrier_number", "policy_proposals", schema="crm")
    op.execute("DELETE FROM crm.policy_proposals WHERE kind = 'missing'")
    op.drop_constraint("kind", "policy_proposals", schema="crm", type_="check")
    op.create_check_constraint("kind", "policy_proposals", "kind IN ('create', 'reconcile')", schema="crm")
    op.drop_constraint("source", "policy_proposals", schema="crm", type_="check")
    op.drop_column("policy_proposals", "source", schema="crm")
