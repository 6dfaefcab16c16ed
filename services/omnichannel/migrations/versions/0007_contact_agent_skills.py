"""Agents' skills (learnt from telephony's agent.skills_changed) and a conversation's topic.

Revision ID: 0007_contact
Revises: 0006_contact
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_contact"
down_revision: str | None = "0006_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agents",
        sa.Column("skills", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        schema="omnichannel",
    )
    op.add_column(
        "agents", sa.Column("skills_changed_at", sa.DateTime(timezone=True), nullable=True), schema="omnichannel"
    )
    op.add_column("conversations", sa.Column("topic", sa.String(length=20), nullable=True), schema="omnichannel")


def downgrade() -> None:
    op.drop_column("conversations", "topic", schema="omnichannel")
    op.drop_column("agents", "skills_changed_at", schema="omnichannel")
    op.drop_column("agents", "skills", schema="omnichannel")
