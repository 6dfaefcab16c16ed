"""The CRM's e-mail requests already queued (each request_id delivered at most once).

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
    op.create_table(
        "crm_email_requests",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_crm_email_requests")),
        schema="omnichannel",
    )


def downgrade() -> None:
    op.drop_table("crm_email_requests", schema="omnichannel")
